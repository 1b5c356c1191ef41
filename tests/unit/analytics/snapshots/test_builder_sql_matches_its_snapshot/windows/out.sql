SELECT grouped.role, grouped.week, grouped.count, sum(grouped.count) OVER (PARTITION BY grouped.role ORDER BY grouped.week ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_total_count, rank() OVER (PARTITION BY grouped.week ORDER BY grouped.count DESC) AS rank_count, grouped.count - lag(grouped.count) OVER (PARTITION BY grouped.role ORDER BY grouped.week ASC) AS lag_change_count 
FROM (SELECT messages.role AS role, date_trunc('week', messages.created_at) AS week, count(*) AS count 
FROM messages GROUP BY messages.role, date_trunc('week', messages.created_at)) AS grouped
