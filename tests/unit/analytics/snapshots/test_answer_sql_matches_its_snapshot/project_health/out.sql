WITH page AS MATERIALIZED 
(SELECT projects.id AS id, projects.name AS name, projects.status AS status, projects.phase AS phase 
FROM projects 
WHERE projects.name <= (SELECT max(first_names.name) AS max_1 
FROM (SELECT projects.name AS name 
FROM projects ORDER BY projects.name 
 LIMIT 50) AS first_names) ORDER BY projects.name, projects.id 
 LIMIT 50)
 SELECT page.id AS project_id, page.name, page.status, page.phase, coalesce(c.conversations, 0) AS conversations, CAST(coalesce(c.messages, 0) AS BIGINT) AS messages, c.last_message_at, coalesce(doc.documents, 0) AS documents, coalesce(b.builds, 0) AS builds, b.build_success_rate, coalesce(dep.deployments, 0) AS deployments, dep.change_failure_rate 
FROM page LEFT OUTER JOIN (SELECT conversations.project_id AS project_id, count(*) AS conversations, sum(conversations.message_count) AS messages, max(conversations.last_message_at) AS last_message_at 
FROM conversations 
WHERE conversations.project_id IN (SELECT page.id 
FROM page) GROUP BY conversations.project_id) AS c ON c.project_id = page.id LEFT OUTER JOIN (SELECT documents.project_id AS project_id, count(*) AS documents 
FROM documents 
WHERE documents.project_id IN (SELECT page.id 
FROM page) GROUP BY documents.project_id) AS doc ON doc.project_id = page.id LEFT OUTER JOIN (SELECT builds.project_id AS project_id, count(*) AS builds, CAST(count(*) FILTER (WHERE builds.status = $1 AND builds.status IN ($2, $3)) AS DOUBLE PRECISION) / nullif(count(*) FILTER (WHERE builds.status IN ($4, $5)), 0) AS build_success_rate 
FROM builds 
WHERE builds.project_id IN (SELECT page.id 
FROM page) GROUP BY builds.project_id) AS b ON b.project_id = page.id LEFT OUTER JOIN (SELECT deployments.project_id AS project_id, count(*) AS deployments, CAST(count(*) FILTER (WHERE deployments.caused_incident = true) AS DOUBLE PRECISION) / nullif(count(*), 0) AS change_failure_rate 
FROM deployments 
WHERE deployments.project_id IN (SELECT page.id 
FROM page) GROUP BY deployments.project_id) AS dep ON dep.project_id = page.id ORDER BY page.name, page.id
