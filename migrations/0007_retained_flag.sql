-- topics_retained was partial on `events > 0`, and every commit sets `events` of each topic it appends to:
-- SQLite then rewrote that topic's index entry too, one more page written per commit (2 WAL frames per topic
-- update against 1, measured). The index now depends on `emptied`, which only retention emptying a topic and
-- an append refilling it change.
ALTER TABLE topics ADD COLUMN emptied INTEGER; -- 1 while the topic holds no event, NULL otherwise
UPDATE topics SET emptied = 1 WHERE events = 0;
DROP INDEX topics_retained;
CREATE INDEX topics_retained ON topics (topic) WHERE emptied IS NULL;
CREATE TRIGGER topics_emptied AFTER UPDATE OF events ON topics WHEN (new.events = 0) <> (old.events = 0)
BEGIN
  UPDATE topics SET emptied = CASE WHEN new.events = 0 THEN 1 END WHERE topic = new.topic;
END;
