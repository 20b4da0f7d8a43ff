-- Appends the events of several requests atomically (a group commit: one script, one fsync for all):
-- assigns the next ids, stores each event in its topic's stream, indexes it in the log, adds it to the feed
-- every node tails, and records each request's Idempotency-Key; a repeated key appends nothing. A Mercure
-- update on several topics is one event with one id: its data is kept in the stream of each of its topics
-- (the alternates' copies name the canonical topic in "h"), and the log entry lists the alternates ("o").
-- Returns {status, first id, time} per request (status 1: fresh, 2: replayed, 3: conflict), then how many
-- old events the append trimmed.
local log_key = KEYS[1]    -- stream: every retained event in id order, entry "<id>-0", fields t m [k] [o i p]
local feed_key = KEYS[2]   -- stream: the newest events in full, fields t e d m [x], for the nodes' tails
local head_key = KEYS[3]   -- hash: id (highest id assigned), time (latest commit time)
local topics_key = KEYS[4] -- sorted set: every topic name, score 0, for prefix lookups
local over_key = KEYS[5]   -- set: topics holding more events than the per-topic limit
local pruned_key = KEYS[6] -- hash: topic -> highest id deleted
local prefixes_key = KEYS[7] -- hash: name prefix -> highest id deleted on the topics it starts
local ids_key = KEYS[8]    -- sorted set: "<publisher id>\n<event id in 20 digits>" (see publisher_member)
local privates_key = KEYS[9] -- hash: topic -> its retained private updates

local namespace = ARGV[1]  -- "{prefix}:": topic streams are namespace .. "t:" .. topic
local max_per_topic = tonumber(ARGV[2])
local feed_length = tonumber(ARGV[3])
local floor = tonumber(ARGV[4]) -- the highest id the appending node has seen: no id up to it is handed out again
local request_count = tonumber(ARGV[5])
local deadline = tonumber(ARGV[6]) -- ms on Redis's clock: past it the appending node has stopped waiting
local feed_bytes = tonumber(ARGV[7]) -- about the most event data the feed keeps: large events shorten it
-- Then per request: its Idempotency-Key's full key name ("" for none), its fingerprint, its event count,
-- and four arguments per event: topic, type ("" for none), data, and an update's fields as JSON ("" for a
-- native event): {"a": alternates, "p": private, "i": publisher id, "r": retry}, kept as "x" for the readers.
local FIRST_REQUEST_ARG = 8
local INLINE_TRIM_BYTES = 1024 * 1024
local FRESH, REPLAYED, CONFLICT = 1, 2, 3

-- Redis's clock, never behind the previous commit: ids and times both follow commit order.
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
-- Run after the node answered 503 (Redis was paused meanwhile): writing now would store what it refused.
if ms > deadline then return redis.error_reply('LATE the appending node stopped waiting for this append') end
local time = string.format('%d', math.max(ms, tonumber(redis.call('HGET', head_key, 'time') or 0)))

raise_head(head_key, floor)
local trim_keys = {
  log = log_key, pruned = pruned_key, prefixes = prefixes_key, topics = topics_key, ids = ids_key, privates = privates_key,
}
local added = {}
local largest = 0 -- the largest event data of this append, which sets how many the feed keeps
local out = {}
local function answer(status, first, at) out[#out + 1] = status out[#out + 1] = first out[#out + 1] = at end
local arg = FIRST_REQUEST_ARG
for _ = 1, request_count do
  local idempotency_key, fingerprint, count = ARGV[arg], ARGV[arg + 1], tonumber(ARGV[arg + 2])
  local events_arg = arg + 3
  arg = events_arg + count * 4
  local prior = idempotency_key ~= '' and redis.call('GET', idempotency_key)
  if prior then
    local prior_fingerprint, first, prior_time = string.match(prior, '^(%S+) (%d+) (%d+)$')
    if prior_fingerprint == fingerprint then
      answer(REPLAYED, tonumber(first), tonumber(prior_time))
    else
      answer(CONFLICT, 0, 0)
    end
  else
    local first = redis.call('HINCRBY', head_key, 'id', count) - count + 1
    for i = 0, count - 1 do
      local at = events_arg + i * 4
      local topic, kind, data, meta = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
      largest = math.max(largest, #data)
      local entry = entry_of(first + i)
      local topic_key = namespace .. 't:' .. topic
      -- The first event of a keyed publish carries the key, so whichever pruning deletes it forgets the key.
      local keyed = i == 0 and idempotency_key ~= ''
      if meta == '' then
        if keyed then
          redis.call('XADD', log_key, entry, 't', topic, 'm', time, 'k', idempotency_key)
          redis.call('XADD', topic_key, entry, 'e', kind, 'd', data, 'm', time, 'k', idempotency_key)
        else
          redis.call('XADD', log_key, entry, 't', topic, 'm', time)
          redis.call('XADD', topic_key, entry, 'e', kind, 'd', data, 'm', time)
        end
        redis.call('XADD', feed_key, entry, 't', topic, 'e', kind, 'd', data, 'm', time)
      else
        local update = cjson.decode(meta)
        local alternates = type(update.a) == 'table' and update.a or {}
        local indexed = {'t', topic, 'm', time}
        local stored = {'e', kind, 'd', data, 'm', time, 'x', meta}
        if keyed then
          indexed[#indexed + 1] = 'k'
          indexed[#indexed + 1] = idempotency_key
        end
        if #alternates > 0 then
          indexed[#indexed + 1] = 'o'
          indexed[#indexed + 1] = table.concat(alternates, '\n')
        end
        if type(update.i) == 'string' then
          indexed[#indexed + 1] = 'i'
          indexed[#indexed + 1] = update.i
          redis.call('ZADD', ids_key, 0, publisher_member(update.i, first + i))
        end
        if update.p == true then
          indexed[#indexed + 1] = 'p'
          indexed[#indexed + 1] = '1'
          count_private(privates_key, topics_of(indexed), 1)
        end
        redis.call('XADD', log_key, entry, unpack(indexed))
        redis.call('XADD', topic_key, entry, unpack(stored))
        stored[#stored + 1] = 'h'
        stored[#stored + 1] = topic
        for _, alternate in ipairs(alternates) do
          redis.call('XADD', namespace .. 't:' .. alternate, entry, unpack(stored))
          added[alternate] = (added[alternate] or 0) + 1
        end
        redis.call('XADD', feed_key, entry, 't', topic, 'e', kind, 'd', data, 'm', time, 'x', meta)
      end
      added[topic] = (added[topic] or 0) + 1
    end
    if idempotency_key ~= '' then
      redis.call('SET', idempotency_key, string.format('%s %d %s', fingerprint, first, time))
    end
    answer(FRESH, first, tonumber(time))
  end
end
redis.call('HSET', head_key, 'time', time)
-- Whole nodes at a time (~): the feed only bridges the moment between a commit and every tail reading it. Its
-- events are kept whole, so large ones keep fewer (a tail that falls further behind reads the log instead):
-- retention bounds the log, and this bounds the feed, whatever the event size.
local keep = feed_length
if largest > 0 then keep = math.max(1, math.min(feed_length, math.floor(feed_bytes / largest))) end
redis.call('XTRIM', feed_key, 'MAXLEN', '~', keep)

-- A topic past its limit sheds as many old events as it gained, so memory stays at the limit between
-- retention's rounds; what a lowered limit leaves over is retention's, in small batches.
local trimmed_total = 0
for topic, gained in pairs(added) do
  redis.call('ZADD', topics_key, 0, topic)
  if max_per_topic > 0 then
    local excess = redis.call('XLEN', namespace .. 't:' .. topic) - max_per_topic
    if excess > 0 then
      local trimmed = trim_topic(namespace, trim_keys, topic, math.min(excess, gained), INLINE_TRIM_BYTES)
      if trimmed < excess then redis.call('SADD', over_key, topic) end
      trimmed_total = trimmed_total + trimmed
    end
  end
end
out[#out + 1] = trimmed_total
return out
