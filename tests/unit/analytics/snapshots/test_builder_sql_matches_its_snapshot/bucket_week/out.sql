SELECT date_trunc('week', messages.created_at) AS week, count(*) AS count 
FROM messages GROUP BY date_trunc('week', messages.created_at)
