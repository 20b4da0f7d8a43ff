-- Mercure updates are events with more to them: topics besides the canonical one, a private flag, the
-- publisher's own id and a reconnection delay. A native event leaves every new column NULL.
ALTER TABLE events ADD COLUMN alternates   TEXT;    -- JSON array of the other topics, in the publisher's order
ALTER TABLE events ADD COLUMN private      INTEGER; -- 1 for a private update
ALTER TABLE events ADD COLUMN publisher_id TEXT;    -- the publisher's id for the update (Mercure `id`)
ALTER TABLE events ADD COLUMN retry        INTEGER; -- milliseconds

-- A resume from a publisher's id seeks here; the lowest id first, so duplicates resolve to the earliest event.
CREATE INDEX events_publisher_id ON events (publisher_id, id) WHERE publisher_id IS NOT NULL;

-- The alternate topics of each event, so a read of one of them seeks an index as it does for canonical topics.
-- Keyed by id first for prefix reads (which walk ids in order); by topic for exact ones.
CREATE TABLE event_topics (
  id    INTEGER NOT NULL,
  topic TEXT    NOT NULL,
  PRIMARY KEY (id, topic)
) WITHOUT ROWID;

CREATE INDEX event_topics_topic_id ON event_topics (topic, id);

-- An event goes with all its topics; a native event (no alternates) pays nothing for it.
CREATE TRIGGER events_forget_alternates AFTER DELETE ON events WHEN old.alternates IS NOT NULL
BEGIN
  DELETE FROM event_topics WHERE id = old.id;
END;

-- An event counts in each of its topics: what retention deletes is counted out of each, and noted as pruned.
CREATE TRIGGER event_topics_count_delete AFTER DELETE ON event_topics
BEGIN
  UPDATE topics SET events = events - 1, pruned_through = max(pruned_through, old.id) WHERE topic = old.topic;
END;
