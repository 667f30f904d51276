-- Plain PostgreSQL path: readings stays an ordinary table; nothing to convert.
SELECT 1;
