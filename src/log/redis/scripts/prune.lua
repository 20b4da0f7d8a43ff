#!lua
-- Deletes one small batch of events past retention: first the oldest events older than `before`,
-- then the oldest events of topics holding more than `max_per_topic`. Each deleted event counts
-- against its topic and raises the topic's pruned-through id; an Idempotency-Key goes with its first
-- event. Safe to run on every node at once: each call sees what the previous ones left.
-- Returns how many events went.
local log_key = KEYS[1]    -- stream: every event
local counts_key = KEYS[2] -- hash: topic -> retained events
local pruned_key = KEYS[3] -- hash: topic -> highest id deleted; "" -> highest id deleted on any topic
local over_key = KEYS[4]   -- set: topics over the per-topic limit

local namespace = ARGV[1]
local before = tonumber(ARGV[2])
local max_per_topic = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local max_bytes = tonumber(ARGV[5]) -- data read from the log in one call, so one call stays short
local STEP = 50                     -- log entries read at a time while looking for old ones
local OVER_TOPICS = 16              -- topics over their limit trimmed in one call

local function id_of(entry) return tonumber(string.match(entry[1], '^(%d+)')) end
local function field(entry, name)
  local f = entry[2]
  for i = 1, #f, 2 do if f[i] == name then return f[i + 1] end end
  return nil
end
local function entry_id(id) return string.format('%d-0', id) end

local function forget(topic, n, highest)
  redis.call('HINCRBY', counts_key, topic, -n)
  for _, name in ipairs({topic, ''}) do
    if tonumber(redis.call('HGET', pruned_key, name) or 0) < highest then
      redis.call('HSET', pruned_key, name, string.format('%d', highest))
    end
  end
end

local deleted = 0

-- By age: ids follow commit time, so the old events are the lowest ids.
local per_topic, cut, bytes, cursor = {}, nil, 0, '-'
while deleted < limit and bytes <= max_bytes do
  local entries = redis.call('XRANGE', log_key, cursor, '+', 'COUNT', math.min(STEP, limit - deleted))
  local young = false
  for _, entry in ipairs(entries) do
    if tonumber(field(entry, 'm')) >= before then young = true break end
    local id, topic, key = id_of(entry), field(entry, 't'), field(entry, 'k')
    if key then redis.call('DEL', key) end
    local t = per_topic[topic] or {n = 0, highest = 0}
    t.n, t.highest = t.n + 1, id
    per_topic[topic] = t
    cut, deleted, bytes = id, deleted + 1, bytes + #field(entry, 'd')
  end
  if young or #entries < STEP then break end
  cursor = '(' .. entries[#entries][1]
end
if cut then
  redis.call('XTRIM', log_key, 'MINID', entry_id(cut + 1))
  for topic, t in pairs(per_topic) do
    redis.call('XTRIM', namespace .. 't:' .. topic, 'MINID', entry_id(t.highest + 1))
    forget(topic, t.n, t.highest)
  end
end

-- By count: the oldest events of each topic over its limit, read from the topic's index.
if max_per_topic > 0 then
  for _, topic in ipairs(redis.call('SRANDMEMBER', over_key, OVER_TOPICS)) do
    if deleted >= limit then break end
    local excess = tonumber(redis.call('HGET', counts_key, topic) or 0) - max_per_topic
    local n = math.min(excess, limit - deleted)
    if n > 0 then
      local index_key = namespace .. 't:' .. topic
      local ids = {}
      for _, entry in ipairs(redis.call('XRANGE', index_key, '-', '+', 'COUNT', n)) do
        local key = field(entry, 'k')
        if key ~= '' then redis.call('DEL', key) end
        ids[#ids + 1] = entry[1]
      end
      if #ids == 0 then break end
      redis.call('XDEL', log_key, unpack(ids))
      local highest = id_of({ids[#ids]})
      redis.call('XTRIM', index_key, 'MINID', entry_id(highest + 1))
      forget(topic, #ids, highest)
      deleted = deleted + #ids
    end
    if n >= excess then redis.call('SREM', over_key, topic) end
  end
end
return deleted
