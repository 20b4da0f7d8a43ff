-- REPLACE (and INSERT OR REPLACE) deletes the row an insert conflicts with and inserts a new one: no UPDATE
-- happens, so events_append_only never sees it, and no delete trigger runs either. An insert may only add an id
-- past every one the log has used (an automatic id reads as -1 here); a used id is never written again.
CREATE TRIGGER events_insert_only BEFORE INSERT ON events
WHEN new.id > 0 AND new.id <= (SELECT seq FROM sqlite_sequence WHERE name = 'events')
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;
