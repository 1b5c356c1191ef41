SELECT date_trunc('week', paired.asked_at) AS period, count(*) AS replies, median(epoch(paired.next_at) - epoch(paired.asked_at)) AS median_reply_seconds 
FROM (SELECT messages.created_at AS asked_at, messages.role AS role, lead(messages.role) OVER (PARTITION BY messages.conversation_id ORDER BY messages.sequence) AS next_role, lead(messages.created_at) OVER (PARTITION BY messages.conversation_id ORDER BY messages.sequence) AS next_at 
FROM messages) AS paired 
WHERE paired.role = $1 AND paired.next_role = $2 GROUP BY date_trunc('week', paired.asked_at) ORDER BY period
