SELECT messages.conversation_id AS conversation_id, count(*) AS count 
FROM messages GROUP BY messages.conversation_id 
HAVING count(*) >= $1 ORDER BY count DESC 
 LIMIT 5
