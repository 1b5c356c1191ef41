SELECT date_trunc('day', messages.created_at) AS day, count(*) AS count 
FROM messages GROUP BY date_trunc('day', messages.created_at)
