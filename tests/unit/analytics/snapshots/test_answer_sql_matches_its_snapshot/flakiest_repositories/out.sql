SELECT builds.repository_id AS repository_id, repositories.url AS url, count(*) FILTER (WHERE builds.status IN ($3, $4)) AS builds, CAST(count(*) FILTER (WHERE builds.status = $1 AND builds.status IN ($5, $6)) AS DOUBLE PRECISION) / nullif(count(*) FILTER (WHERE builds.status IN ($7, $8)), 0) AS failure_rate 
FROM builds JOIN repositories ON builds.repository_id = repositories.id GROUP BY builds.repository_id, repositories.url 
HAVING count(*) FILTER (WHERE builds.status IN ($3, $4)) >= $2 ORDER BY failure_rate DESC, repository_id ASC 
 LIMIT 10
