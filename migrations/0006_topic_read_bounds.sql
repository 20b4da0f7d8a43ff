-- What a read of one topic knows before it reads a row, so that it can take a whole page in one query:
--   max_data    the longest data of an event of the topic, canonical or alternate: at least its length in UTF-16
--               units (what a page counts against its size), here in UTF-8 bytes, which are never fewer. Appends
--               raise it and retention never lowers it, so it stays an upper bound; NULL: not known.
--   last_update the highest id of a Mercure update of the topic, NULL for none: a range past it holds native
--               events only, whose update columns need not be read.
-- A topic whose max_data is not known is read row by row, its update columns with it.
ALTER TABLE topics ADD COLUMN max_data INTEGER;
ALTER TABLE topics ADD COLUMN last_update INTEGER;

UPDATE topics SET (max_data, last_update) = (
  SELECT coalesce(max(octet_length(data)), 0),
         max(CASE WHEN alternates IS NOT NULL OR private IS NOT NULL OR publisher_id IS NOT NULL OR retry IS NOT NULL
                  THEN id END)
  FROM events WHERE topic = topics.topic);

-- An update counts under its alternate topics too.
UPDATE topics SET (max_data, last_update) = (
  SELECT max(topics.max_data, max(octet_length(e.data))), max(coalesce(topics.last_update, 0), max(a.id))
  FROM event_topics a JOIN events e ON e.id = a.id WHERE a.topic = topics.topic)
WHERE topic IN (SELECT topic FROM event_topics);
