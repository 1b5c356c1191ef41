SELECT date_trunc('month', messages.created_at) AS month, count(*) AS count 
FROM messages GROUP BY date_trunc('month', messages.created_at)
