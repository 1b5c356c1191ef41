SELECT date_trunc('hour', messages.created_at) AS hour, count(*) AS count 
FROM messages GROUP BY date_trunc('hour', messages.created_at)
