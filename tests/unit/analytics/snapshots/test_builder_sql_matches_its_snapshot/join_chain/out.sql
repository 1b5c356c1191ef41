SELECT projects.name AS name, conversations.phase AS conversations_phase, count(*) AS count 
FROM projects JOIN conversations ON conversations.project_id = projects.id JOIN messages ON messages.conversation_id = conversations.id 
WHERE messages.role = $1 GROUP BY projects.name, conversations.phase
