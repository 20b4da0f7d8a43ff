-- /topics shows a reader who may not see a topic's private updates only the topic's other events, so each topic
-- counts its private updates (canonical or alternate): a topic with none, nearly every one, needs nothing more.
-- Appends add to the count (the writer aggregates per commit); deleting a private update takes it off each topic.
ALTER TABLE topics ADD COLUMN private_events INTEGER NOT NULL DEFAULT 0;

UPDATE topics SET private_events =
  (SELECT count(*) FROM events WHERE topic = topics.topic AND private = 1) +
  (SELECT count(*) FROM event_topics a JOIN events e ON e.id = a.id WHERE a.topic = topics.topic AND e.private = 1)
WHERE last_update IS NOT NULL;

CREATE TRIGGER events_count_private_delete AFTER DELETE ON events WHEN old.private = 1
BEGIN
  UPDATE topics SET private_events = private_events - 1 WHERE topic = old.topic;
  UPDATE topics SET private_events = private_events - 1 WHERE topic IN (SELECT value FROM json_each(old.alternates));
END;
