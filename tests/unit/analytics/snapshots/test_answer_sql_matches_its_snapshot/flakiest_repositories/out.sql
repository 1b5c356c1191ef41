SELECT b.repository_id, repositories.url AS url, b.builds, b.failure_rate 
FROM (SELECT builds.repository_id AS repository_id, count(*) FILTER (WHERE builds.status IN ($3, $4)) AS builds, CAST(count(*) FILTER (WHERE builds.status = $1 AND builds.status IN ($5, $6)) AS DOUBLE PRECISION) / nullif(count(*) FILTER (WHERE builds.status IN ($7, $8)), 0) AS failure_rate 
FROM builds GROUP BY builds.repository_id 
HAVING count(*) FILTER (WHERE builds.status IN ($3, $4)) >= $2) AS b JOIN repositories ON repositories.id = b.repository_id ORDER BY b.failure_rate DESC, b.repository_id 
 LIMIT 10
