-- Pages of /topics walk the topics that still hold events in name order: retention leaves a row behind for
-- every topic it emptied (its pruned-through id), and a page must not step over a million of those.
CREATE INDEX topics_retained ON topics (topic) WHERE events > 0;
