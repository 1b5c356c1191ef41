SELECT json_extract_string(projects.architecture, '$.database') AS database, count(*) AS count 
FROM projects 
WHERE json_extract_string(projects.architecture, $1) = $2 GROUP BY json_extract_string(projects.architecture, '$.database')
