#!lua
-- Appends a batch of events atomically: assigns the next ids, adds each event to the log and to its
-- topic's index, counts it, and records the Idempotency-Key. A repeated key appends nothing.
-- Returns {"fresh", first id, time}, {"replayed", first id, time} or {"conflict"}.
local log_key = KEYS[1]     -- stream: every event, entry id "<event id>-0", fields t e d m [k]
local head_key = KEYS[2]    -- hash: id (highest id assigned), time (latest commit time)
local topics_key = KEYS[3]  -- sorted set: every topic name, score 0, for prefix lookups
local counts_key = KEYS[4]  -- hash: topic -> retained events
local touched_key = KEYS[5] -- hash: topic -> time of its latest event
local over_key = KEYS[6]    -- set: topics holding more events than the per-topic limit

local namespace = ARGV[1]   -- "{prefix}:", the hash tag every derived key shares
local max_per_topic = tonumber(ARGV[2])
local idempotency_key = ARGV[3] -- a full key name, or "" without an Idempotency-Key
local fingerprint = ARGV[4]
local count = tonumber(ARGV[5])
local FIRST_EVENT_ARG = 6       -- then topic, type ("" for none), data: three arguments per event

if idempotency_key ~= '' then
  local prior = redis.call('GET', idempotency_key)
  if prior then
    local prior_fingerprint, first, time = string.match(prior, '^(%S+) (%d+) (%d+)$')
    if prior_fingerprint ~= fingerprint then return {'conflict'} end
    return {'replayed', tonumber(first), tonumber(time)}
  end
end
if count == 0 then return {'fresh', 0, 0} end

-- Redis's clock, never behind the previous commit: ids and times both follow commit order.
local now = redis.call('TIME')
local time = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
time = string.format('%d', math.max(time, tonumber(redis.call('HGET', head_key, 'time') or 0)))
local last = redis.call('HINCRBY', head_key, 'id', count)
redis.call('HSET', head_key, 'time', time)
local first = last - count + 1

local added = {}
for i = 0, count - 1 do
  local topic = ARGV[FIRST_EVENT_ARG + i * 3]
  local entry = string.format('%d-0', first + i)
  -- The first event of a keyed publish carries the key, so pruning it forgets the key.
  local key = (i == 0) and idempotency_key or ''
  if key == '' then
    redis.call('XADD', log_key, entry, 't', topic, 'e', ARGV[FIRST_EVENT_ARG + i * 3 + 1],
      'd', ARGV[FIRST_EVENT_ARG + i * 3 + 2], 'm', time)
  else
    redis.call('XADD', log_key, entry, 't', topic, 'e', ARGV[FIRST_EVENT_ARG + i * 3 + 1],
      'd', ARGV[FIRST_EVENT_ARG + i * 3 + 2], 'm', time, 'k', key)
  end
  redis.call('XADD', namespace .. 't:' .. topic, entry, 'k', key)
  added[topic] = (added[topic] or 0) + 1
end

for topic, n in pairs(added) do
  redis.call('ZADD', topics_key, 0, topic)
  local retained = redis.call('HINCRBY', counts_key, topic, n)
  redis.call('HSET', touched_key, topic, time)
  if max_per_topic > 0 and retained > max_per_topic then redis.call('SADD', over_key, topic) end
end

if idempotency_key ~= '' then
  redis.call('SET', idempotency_key, string.format('%s %d %s', fingerprint, first, time))
end
return {'fresh', first, tonumber(time)}
