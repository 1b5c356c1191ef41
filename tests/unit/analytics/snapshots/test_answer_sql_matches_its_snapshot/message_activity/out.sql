SELECT date_trunc('week', messages.created_at) AS period, messages.role AS role, count(*) AS messages, sum(messages.token_count) AS tokens 
FROM messages GROUP BY date_trunc('week', messages.created_at), messages.role ORDER BY period ASC, role ASC
