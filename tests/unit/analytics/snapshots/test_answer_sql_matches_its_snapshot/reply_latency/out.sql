SELECT date_trunc('week', messages.asked_at) AS period, count(*) AS replies, median(epoch(messages.created_at) - epoch(messages.asked_at)) AS median_reply_seconds 
FROM messages 
WHERE messages.asked_at IS NOT NULL GROUP BY date_trunc('week', messages.asked_at) ORDER BY period
