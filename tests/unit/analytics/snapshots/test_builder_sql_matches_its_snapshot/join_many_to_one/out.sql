SELECT repositories.url AS url, count(*) AS count 
FROM builds JOIN repositories ON builds.repository_id = repositories.id GROUP BY repositories.url
