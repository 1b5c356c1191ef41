SELECT projects.status AS status, projects.phase AS phase, count(*) AS count 
FROM projects GROUP BY projects.status, projects.phase ORDER BY status ASC, phase ASC
