#!lua flags=no-writes
-- Reads events with ids in (after, up_to] on some selectors, in id order, at most `limit` of them and,
-- past the first, no more than `max_bytes` of data. Returns {cursor, id, topic, type, time, data, ...}:
-- the read covered every id up to cursor, so the next one starts after it.
local log_key = KEYS[1]    -- stream: every event
local topics_key = KEYS[2] -- sorted set: every topic name

local namespace = ARGV[1]
local after = tonumber(ARGV[2])
local up_to = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local max_bytes = tonumber(ARGV[5])
local scan_budget = tonumber(ARGV[6]) -- log entries one call may look at when filtering the whole log
local exact_count = tonumber(ARGV[7])  -- then the exact topics, then the prefixes ("" for all)
local FIRST_SELECTOR_ARG = 8
-- Up to this many topics, their indexes are merged; past it, filtering the log itself reads less.
local MAX_MERGED_TOPICS = 64

local exact, prefixes = {}, {}
for i = FIRST_SELECTOR_ARG, FIRST_SELECTOR_ARG + exact_count - 1 do exact[ARGV[i]] = true end
for i = FIRST_SELECTOR_ARG + exact_count, #ARGV do prefixes[#prefixes + 1] = ARGV[i] end

local function id_of(entry) return tonumber(string.match(entry[1], '^(%d+)')) end
local function field(entry, name)
  local f = entry[2]
  for i = 1, #f, 2 do if f[i] == name then return f[i + 1] end end
  return nil
end
local function range_start(id) return string.format('(%d-0', id) end
local function range_end(id) return string.format('%d-0', id) end

local out, bytes, taken = {0}, 0, 0
-- Adds an event unless the page is full; returns false once it is.
local function take(entry)
  local data = field(entry, 'd')
  if taken >= limit or (taken > 0 and bytes + #data > max_bytes) then return false end
  out[#out + 1] = id_of(entry)
  out[#out + 1] = field(entry, 't')
  out[#out + 1] = field(entry, 'e')
  out[#out + 1] = tonumber(field(entry, 'm'))
  out[#out + 1] = data
  bytes = bytes + #data
  taken = taken + 1
  return true
end
local function finish(cursor) out[1] = cursor return out end

local function matches(topic)
  if exact[topic] then return true end
  for _, p in ipairs(prefixes) do
    if string.sub(topic, 1, #p) == p then return true end
  end
  return false
end

-- Filters the log itself: for "*", and for prefixes matching many topics.
local function scan(whole)
  local count = whole and limit or scan_budget
  local entries = redis.call('XRANGE', log_key, range_start(after), range_end(up_to), 'COUNT', count)
  for _, entry in ipairs(entries) do
    if whole or matches(field(entry, 't')) then
      if not take(entry) then return finish(id_of(entry) - 1) end
    end
  end
  if #entries < count then return finish(up_to) end
  return finish(id_of(entries[#entries]))
end

for _, p in ipairs(prefixes) do
  if p == '' then return scan(true) end
end

local topics = {}
for topic in pairs(exact) do topics[#topics + 1] = topic end
for _, p in ipairs(prefixes) do
  local names = redis.call('ZRANGEBYLEX', topics_key, '[' .. p, '[' .. p .. '\255', 'LIMIT', 0, MAX_MERGED_TOPICS + 1)
  for _, name in ipairs(names) do
    if not exact[name] then topics[#topics + 1] = name end
  end
  if #topics > MAX_MERGED_TOPICS then return scan(false) end
end

-- The first `limit` ids of each topic index hold the first `limit` ids of their union.
local ids, seen = {}, {}
for _, topic in ipairs(topics) do
  local entries = redis.call('XRANGE', namespace .. 't:' .. topic, range_start(after), range_end(up_to), 'COUNT', limit)
  for _, entry in ipairs(entries) do
    local id = id_of(entry)
    if not seen[id] then
      seen[id] = true
      ids[#ids + 1] = id
    end
  end
end
table.sort(ids)
local complete = #ids < limit
if not complete then
  for i = #ids, limit + 1, -1 do ids[i] = nil end
end
if #ids == 0 then return finish(up_to) end

-- Dense ids come from one range of the log; sparse ones one by one.
local first, last = ids[1], ids[#ids]
if last - first + 1 <= 2 * #ids then
  for _, entry in ipairs(redis.call('XRANGE', log_key, range_end(first), range_end(last))) do
    if seen[id_of(entry)] and not take(entry) then return finish(id_of(entry) - 1) end
  end
else
  for _, id in ipairs(ids) do
    local entry = redis.call('XRANGE', log_key, range_end(id), range_end(id))[1]
    if entry and not take(entry) then return finish(id - 1) end
  end
end
if complete then return finish(up_to) end
return finish(last)
