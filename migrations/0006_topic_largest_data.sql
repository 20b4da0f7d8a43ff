-- The longest data an event of each topic has, canonical or alternate: at least its length in UTF-16 units (what
-- a page of events counts against its size), here in UTF-8 bytes, which are never fewer. A read of a topic whose
-- events are all small then takes a whole page in one query, its size bounded before a row is read. Appends
-- raise it, retention never lowers it: it stays an upper bound. NULL: not known (the topic is read row by row).
ALTER TABLE topics ADD COLUMN max_data INTEGER;

UPDATE topics SET max_data = coalesce((
  SELECT max(n) FROM (
    SELECT octet_length(data) AS n FROM events WHERE topic = topics.topic
    UNION ALL
    SELECT octet_length(e.data) FROM event_topics a JOIN events e ON e.id = a.id WHERE a.topic = topics.topic)), 0);
