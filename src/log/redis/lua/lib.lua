-- Helpers every script of the shared log starts with (scripts.ts puts them in front of each).

-- "<event id>-0" -> the event id.
local function id_of(entry_id) return tonumber(string.match(entry_id, '^(%d+)')) end

local function entry_of(id) return string.format('%d-0', id) end

-- The value of `name` in an entry's flat field list.
local function field(fields, name)
  for i = 1, #fields, 2 do if fields[i] == name then return fields[i + 1] end end
  return nil
end

-- Raises the number in `key`'s `field` to `value`; false when it was that high already.
local function raise(key, field, value)
  if tonumber(redis.call('HGET', key, field) or 0) >= value then return false end
  redis.call('HSET', key, field, string.format('%d', value))
  return true
end

-- Notes that retention deleted events of `topic` up to `highest`: under the topic's own name, and under every
-- prefix of it, so that what a prefix selector lost is one lookup however many topics it matches. A prefix
-- holds the highest of every name it starts, so once one is high enough, the shorter ones are too.
local function raise_pruned(pruned_key, prefixes_key, topic, highest)
  raise(pruned_key, topic, highest)
  for length = #topic, 0, -1 do
    if not raise(prefixes_key, string.sub(topic, 1, length), highest) then break end
  end
end

-- A topic retention emptied leaves nothing behind but what it pruned: its stream, its name and its count of
-- private updates go (the count is 0 by then, unless a node of an earlier Herald pruned some without counting).
local function forget_if_empty(keys, topic_key, topic)
  if redis.call('XLEN', topic_key) > 0 then return end
  redis.call('DEL', topic_key)
  redis.call('ZREM', keys.topics, topic)
  redis.call('HDEL', keys.privates, topic)
end

-- Ids skipped past what a node had seen when Redis comes back with less: another node may have seen more (its
-- tail ahead of this one's), and none of those ids may be handed out again. A million is far more than a tail
-- ever trails by; ids are 64-bit, so the skip costs nothing.
local ROLLBACK_MARGIN = 1000000

-- The highest id assigned is raised past `floor` if it is lower: a node that has seen ids up to `floor` keeps
-- them from being handed out again when Redis comes back with less (a replica that was behind, an older
-- backup, a write lost under appendfsync everysec). The ids up to `floor` are noted as lost, so a resume from
-- before them is told of the gap; the margin's ids never existed unless another node saw some. Returns the
-- highest id before, and after.
local function raise_head(head_key, floor)
  local id = tonumber(redis.call('HGET', head_key, 'id') or 0)
  if id >= floor then return id, id end
  local raised = floor + ROLLBACK_MARGIN
  redis.call('HSET', head_key, 'id', string.format('%d', raised))
  raise(head_key, 'lost', floor)
  return id, raised
end

-- The alternate topics of a log entry: its field "o", the topics joined by newlines (no topic holds one).
local function alternates_of(fields)
  local list = {}
  local joined = field(fields, 'o')
  if joined then
    for topic in string.gmatch(joined, '[^\n]+') do list[#list + 1] = topic end
  end
  return list
end

-- A publisher's id is a member "<publisher id>\n<event id in 20 digits>" of one sorted set (all scores 0): in
-- byte order, the first member starting "<publisher id>\n" is its earliest retained event.
local function publisher_member(publisher_id, id)
  return publisher_id .. '\n' .. string.format('%020d', id)
end

-- What goes with an event whatever deletes it: its Idempotency-Key and its publisher's id (log entry fields).
local function forget_event(ids_key, id, fields)
  local key = field(fields, 'k')
  if key then redis.call('DEL', key) end
  local publisher_id = field(fields, 'i')
  if publisher_id then redis.call('ZREM', ids_key, publisher_member(publisher_id, id)) end
end

-- A private update counts in each of its topics (the hash `privates`, topic -> count); a count that reaches 0 goes.
local function count_private(privates_key, topics, by)
  for _, topic in ipairs(topics) do
    if redis.call('HINCRBY', privates_key, topic, by) <= 0 then redis.call('HDEL', privates_key, topic) end
  end
end

-- Every topic of a log entry: its own, then its alternates.
local function topics_of(fields)
  local all = alternates_of(fields)
  table.insert(all, 1, field(fields, 't'))
  return all
end

-- Deletes up to `n` of the oldest events of `topic` (reading at most about `max_bytes` of their data),
-- with the Idempotency-Keys they carry. An event on several topics goes from each of them, and counts as
-- pruned on each. Returns how many went and the data bytes read.
local function trim_topic(namespace, keys, topic, n, max_bytes)
  local topic_key = namespace .. 't:' .. topic
  local ids, bytes, cursor = {}, 0, '-'
  local others = {}
  while #ids < n and bytes <= max_bytes do
    local entries = redis.call('XRANGE', topic_key, cursor, '+', 'COUNT', math.min(20, n - #ids))
    for _, e in ipairs(entries) do
      if field(e[2], 'x') then
        -- An update: the log entry names all its topics; every one but this loses its copy now.
        local logged = redis.call('XRANGE', keys.log, e[1], e[1])[1]
        if logged then
          local id = id_of(e[1])
          forget_event(keys.ids, id, logged[2])
          local all = topics_of(logged[2])
          if field(logged[2], 'p') then count_private(keys.privates, all, -1) end
          for _, other in ipairs(all) do
            if other ~= topic then
              redis.call('XDEL', namespace .. 't:' .. other, e[1])
              others[other] = math.max(others[other] or 0, id)
            end
          end
        end
      else
        local key = field(e[2], 'k')
        if key then redis.call('DEL', key) end
      end
      ids[#ids + 1] = e[1]
      bytes = bytes + #field(e[2], 'd')
    end
    if #entries == 0 then break end
    cursor = '(' .. entries[#entries][1]
  end
  if #ids == 0 then return 0, bytes end
  redis.call('XDEL', keys.log, unpack(ids))
  local highest = id_of(ids[#ids])
  redis.call('XTRIM', topic_key, 'MINID', entry_of(highest + 1))
  raise_pruned(keys.pruned, keys.prefixes, topic, highest)
  forget_if_empty(keys, topic_key, topic)
  for other, other_highest in pairs(others) do
    raise_pruned(keys.pruned, keys.prefixes, other, other_highest)
    forget_if_empty(keys, namespace .. 't:' .. other, other)
  end
  return #ids, bytes
end

-- A node's presence keys: its liveness (a string that expires unless the node refreshes it) and its share (a
-- hash: stream id -> the stream as JSON, expiring with it).
local function alive_key(namespace, node) return namespace .. 'presence:alive:' .. node end

local function share_key(namespace, node) return namespace .. 'presence:share:' .. node end
