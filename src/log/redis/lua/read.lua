-- Reads events with ids in (after, up_to] on some selectors, in id order, at most `limit` of them, ending
-- with the event that brings their data to `max_bytes`. Returns {cursor, id, topic, type, time, data, update,
-- ...} (update: an update's fields as JSON, "" for a native event): the read covered every id up to cursor,
-- so the next one starts after it. An update is found through any of its topics, and taken once.
local log_key = KEYS[1]    -- stream: every retained event in id order, fields t m [k] [o i]
local topics_key = KEYS[2] -- sorted set: every topic name

local namespace = ARGV[1]  -- topic streams are namespace .. "t:" .. topic, fields e d m [k] [x h]
local after = tonumber(ARGV[2])
local up_to = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local max_bytes = tonumber(ARGV[5])
local scan_budget = tonumber(ARGV[6]) -- log entries one call may look at when filtering the whole log
local exact_count = tonumber(ARGV[7])  -- then the exact topics, then the prefixes ("" for all)
local FIRST_SELECTOR_ARG = 8
-- Up to this many topics, their streams are merged; past it, filtering the log reads less.
local MAX_MERGED_TOPICS = 64
-- Events taken from each merged topic per call, so a merge of many topics reads a bounded amount.
local MERGE_PAGE = 100

local exact, prefixes = {}, {}
for i = FIRST_SELECTOR_ARG, FIRST_SELECTOR_ARG + exact_count - 1 do exact[ARGV[i]] = true end
for i = FIRST_SELECTOR_ARG + exact_count, #ARGV do prefixes[#prefixes + 1] = ARGV[i] end


local out, bytes, taken, last = {0}, 0, 0, 0
-- Adds an event of `topic` (its topic stream's fields) unless the page is full; false once it is. An
-- alternate's copy names the canonical topic ("h"); an event already taken through another topic is skipped.
local function take(id, topic, fields)
  if id == last then return true end
  local data = field(fields, 'd')
  if taken >= limit or bytes >= max_bytes then return false end
  out[#out + 1] = id
  out[#out + 1] = field(fields, 'h') or topic
  out[#out + 1] = field(fields, 'e')
  out[#out + 1] = tonumber(field(fields, 'm'))
  out[#out + 1] = data
  out[#out + 1] = field(fields, 'x') or ''
  bytes, taken, last = bytes + #data, taken + 1, id
  return true
end
local function finish(cursor) out[1] = cursor return out end

local function matches_one(topic)
  if exact[topic] then return true end
  for _, p in ipairs(prefixes) do
    if string.sub(topic, 1, #p) == p then return true end
  end
  return false
end

-- Whether a log entry's canonical topic or one of its alternates matches.
local function matches(topic, fields)
  if matches_one(topic) then return true end
  for _, alternate in ipairs(alternates_of(fields)) do
    if matches_one(alternate) then return true end
  end
  return false
end

-- Walks the log in id order, looking each matching event up in its topic's stream.
local function scan(all)
  local count = all and limit or scan_budget
  local entries = redis.call('XRANGE', log_key, '(' .. entry_of(after), entry_of(up_to), 'COUNT', count)
  for _, e in ipairs(entries) do
    local topic = field(e[2], 't')
    if all or matches(topic, e[2]) then
      local stored = redis.call('XRANGE', namespace .. 't:' .. topic, e[1], e[1])[1]
      if stored and not take(id_of(e[1]), topic, stored[2]) then return finish(id_of(e[1]) - 1) end
    end
  end
  if #entries < count then return finish(up_to) end
  return finish(id_of(entries[#entries][1]))
end

for _, p in ipairs(prefixes) do
  if p == '' then return scan(true) end
end

local topics = {}
for topic in pairs(exact) do topics[#topics + 1] = topic end
for _, p in ipairs(prefixes) do
  local names = redis.call('ZRANGEBYLEX', topics_key, '[' .. p, '[' .. p .. '\255', 'LIMIT', 0, MAX_MERGED_TOPICS + 1)
  for _, name in ipairs(names) do
    if not exact[name] then
      exact[name] = true
      topics[#topics + 1] = name
    end
  end
  if #topics > MAX_MERGED_TOPICS then return scan(false) end
end

-- The first `page` events of each topic hold the first `page` events of them all.
local page = #topics == 1 and limit or math.min(limit, MERGE_PAGE)
local merged = {}
for _, topic in ipairs(topics) do
  local entries = redis.call('XRANGE', namespace .. 't:' .. topic, '(' .. entry_of(after), entry_of(up_to), 'COUNT', page)
  for _, e in ipairs(entries) do merged[#merged + 1] = {id_of(e[1]), topic, e[2]} end
end
table.sort(merged, function(a, b) return a[1] < b[1] end)
for i = 1, math.min(#merged, page) do
  local e = merged[i]
  if not take(e[1], e[2], e[3]) then return finish(e[1] - 1) end
end
if #merged < page then return finish(up_to) end
return finish(merged[page][1])
