-- Deletes one small batch of events past retention: first the oldest events older than `before`,
-- then the oldest events of topics holding more than `max_per_topic`. Each deleted event raises its
-- topic's pruned-through id, and an Idempotency-Key goes with its first event. Safe to run on every
-- node at once: each call sees what the previous ones left. An update on several topics goes from each of
-- them and counts as pruned on each. Returns how many events went.
local log_key = KEYS[1]    -- stream: every retained event in id order, fields t m [k] [o i p]
local pruned_key = KEYS[2] -- hash: topic -> highest id deleted
local over_key = KEYS[3]   -- set: topics over the per-topic limit
local prefixes_key = KEYS[4] -- hash: name prefix -> highest id deleted on the topics it starts
local topics_key = KEYS[5] -- sorted set: every topic name with retained events
local ids_key = KEYS[6]    -- sorted set: publishers' ids of events (see publisher_member)
local privates_key = KEYS[7] -- hash: topic -> its retained private updates

local namespace = ARGV[1]  -- topic streams are namespace .. "t:" .. topic, fields e d m [k] [x h]
local before = tonumber(ARGV[2])
local max_per_topic = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local max_bytes = tonumber(ARGV[5]) -- event data read in one call, so one call stays short
local STEP = 200                    -- log entries read at a time
local OVER_TOPICS = 16              -- topics over their limit trimmed in one call


local trim_keys = {
  log = log_key, pruned = pruned_key, prefixes = prefixes_key, topics = topics_key, ids = ids_key, privates = privates_key,
}
local deleted = 0

-- By age: ids follow commit time, so the old events are the lowest ids of the log.
local highest_of, cut, cursor = {}, nil, '-'
while deleted < limit do
  local entries = redis.call('XRANGE', log_key, cursor, '+', 'COUNT', math.min(STEP, limit - deleted))
  local young = false
  for _, e in ipairs(entries) do
    local fields = e[2]
    if tonumber(field(fields, 'm')) >= before then young = true break end
    cut = id_of(e[1])
    forget_event(ids_key, cut, fields)
    local all = topics_of(fields)
    for _, topic in ipairs(all) do highest_of[topic] = cut end
    if field(fields, 'p') then count_private(privates_key, all, -1) end
    deleted = deleted + 1
  end
  if young or #entries == 0 then break end
  cursor = '(' .. entries[#entries][1]
end
if cut then
  redis.call('XTRIM', log_key, 'MINID', entry_of(cut + 1))
  for topic, highest in pairs(highest_of) do
    local topic_key = namespace .. 't:' .. topic
    redis.call('XTRIM', topic_key, 'MINID', entry_of(highest + 1))
    raise_pruned(pruned_key, prefixes_key, topic, highest)
    forget_if_empty(trim_keys, topic_key, topic)
  end
end

-- By count: the oldest events of each topic over its limit.
if max_per_topic > 0 then
  local bytes = 0
  for _, topic in ipairs(redis.call('SRANDMEMBER', over_key, OVER_TOPICS)) do
    if deleted >= limit or bytes > max_bytes then break end
    local excess = redis.call('XLEN', namespace .. 't:' .. topic) - max_per_topic
    local n, read = 0, 0
    if excess > 0 then
      n, read = trim_topic(namespace, trim_keys, topic, math.min(excess, limit - deleted), max_bytes - bytes)
    end
    deleted, bytes = deleted + n, bytes + read
    if n >= excess then redis.call('SREM', over_key, topic) end
  end
end
return deleted
