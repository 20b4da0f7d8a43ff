-- The append-only event log. AUTOINCREMENT keeps ids from ever being reused, even after pruning.
CREATE TABLE events (
  id    INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT    NOT NULL,
  type  TEXT,
  data  TEXT    NOT NULL, -- compact JSON
  time  INTEGER NOT NULL  -- Unix milliseconds
);

-- Per-topic catch-up and history: topic = ? AND id > ? ORDER BY id.
CREATE INDEX events_topic_id ON events (topic, id);

CREATE TRIGGER events_append_only BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;

-- One row per topic, kept by triggers so /topics and gap checks never scan the log.
CREATE TABLE topics (
  topic          TEXT PRIMARY KEY,
  events         INTEGER NOT NULL,
  last_id        INTEGER NOT NULL,
  last_time      INTEGER NOT NULL,
  pruned_through INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TRIGGER events_count_insert AFTER INSERT ON events
BEGIN
  INSERT INTO topics (topic, events, last_id, last_time) VALUES (new.topic, 1, new.id, new.time)
  ON CONFLICT (topic) DO UPDATE SET events = events + 1, last_id = new.id, last_time = new.time;
END;

CREATE TRIGGER events_count_delete AFTER DELETE ON events
BEGIN
  UPDATE topics SET events = events - 1, pruned_through = max(pruned_through, old.id) WHERE topic = old.topic;
END;
