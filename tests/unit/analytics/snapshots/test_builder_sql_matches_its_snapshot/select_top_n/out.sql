SELECT conversations.id AS id, conversations.title AS title, conversations.message_count AS message_count 
FROM conversations 
WHERE conversations.message_count >= $1 ORDER BY message_count DESC 
 LIMIT 10
