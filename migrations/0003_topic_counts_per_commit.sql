-- Appends now update `topics` once per topic per commit (the writer aggregates), not once per row:
-- the per-row trigger doubled the work of every insert.
DROP TRIGGER events_count_insert;
