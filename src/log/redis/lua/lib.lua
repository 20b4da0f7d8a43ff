-- Helpers every script of the shared log starts with (scripts.ts puts them in front of each).

-- "<event id>-0" -> the event id.
local function id_of(entry_id) return tonumber(string.match(entry_id, '^(%d+)')) end

local function entry_of(id) return string.format('%d-0', id) end

-- The value of `name` in an entry's flat field list.
local function field(fields, name)
  for i = 1, #fields, 2 do if fields[i] == name then return fields[i + 1] end end
  return nil
end

-- Notes that retention deleted events of `topic` up to `highest` ("" keeps the highest over all topics).
local function raise_pruned(pruned_key, topic, highest)
  for _, name in ipairs({topic, ''}) do
    if tonumber(redis.call('HGET', pruned_key, name) or 0) < highest then
      redis.call('HSET', pruned_key, name, string.format('%d', highest))
    end
  end
end

-- Deletes up to `n` of the oldest events of `topic` (reading at most about `max_bytes` of their data),
-- with the Idempotency-Keys they carry. Returns how many went and the data bytes read.
local function trim_topic(namespace, log_key, pruned_key, topic, n, max_bytes)
  local topic_key = namespace .. 't:' .. topic
  local ids, bytes, cursor = {}, 0, '-'
  while #ids < n and bytes <= max_bytes do
    local entries = redis.call('XRANGE', topic_key, cursor, '+', 'COUNT', math.min(20, n - #ids))
    for _, e in ipairs(entries) do
      local key = field(e[2], 'k')
      if key then redis.call('DEL', key) end
      ids[#ids + 1] = e[1]
      bytes = bytes + #field(e[2], 'd')
    end
    if #entries == 0 then break end
    cursor = '(' .. entries[#entries][1]
  end
  if #ids == 0 then return 0, bytes end
  redis.call('XDEL', log_key, unpack(ids))
  local highest = id_of(ids[#ids])
  redis.call('XTRIM', topic_key, 'MINID', entry_of(highest + 1))
  raise_pruned(pruned_key, topic, highest)
  return #ids, bytes
end
