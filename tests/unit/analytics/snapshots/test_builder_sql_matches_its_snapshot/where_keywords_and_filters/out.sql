SELECT projects.phase AS phase, count(*) AS count 
FROM projects 
WHERE projects.status IN ($3, $4) AND projects.created_at >= $1 AND contains(lower(projects.name), lower($2)) IS true GROUP BY projects.phase
