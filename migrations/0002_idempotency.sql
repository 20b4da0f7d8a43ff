-- Idempotency keys live exactly as long as the first event they produced is retained.
CREATE TABLE idempotency_keys (
  scope       TEXT    NOT NULL, -- the topic of a single publish, '' for a batch
  key         TEXT    NOT NULL,
  fingerprint TEXT    NOT NULL, -- hash of the request, to tell a repeat from a conflict
  first_id    INTEGER NOT NULL,
  receipts    TEXT    NOT NULL, -- JSON [[id, topic, event, time], ...]: the original answer
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;

CREATE INDEX idempotency_keys_first_id ON idempotency_keys (first_id);

CREATE TRIGGER events_forget_idempotency AFTER DELETE ON events
BEGIN
  DELETE FROM idempotency_keys WHERE first_id = old.id;
END;
