#!lua flags=no-writes
-- One page of topics with retained events, in byte order of their names, after the name `after`
-- ("" to start). Returns {last name looked at, topic, events, first id, last id, last time, ...};
-- the last name is "" once every topic was looked at.
local topics_key = KEYS[1]  -- sorted set: every topic name
local counts_key = KEYS[2]  -- hash: topic -> retained events
local touched_key = KEYS[3] -- hash: topic -> time of its latest event

local namespace = ARGV[1]
local after = ARGV[2]
local page = tonumber(ARGV[3])

local names = redis.call('ZRANGEBYLEX', topics_key, after == '' and '-' or '(' .. after, '+', 'LIMIT', 0, page)
local out = {#names < page and '' or names[#names]}
for _, topic in ipairs(names) do
  local events = tonumber(redis.call('HGET', counts_key, topic) or 0)
  if events > 0 then
    local index_key = namespace .. 't:' .. topic
    local first = redis.call('XRANGE', index_key, '-', '+', 'COUNT', 1)[1][1]
    local last = redis.call('XREVRANGE', index_key, '+', '-', 'COUNT', 1)[1][1]
    out[#out + 1] = topic
    out[#out + 1] = events
    out[#out + 1] = tonumber(string.match(first, '^(%d+)'))
    out[#out + 1] = tonumber(string.match(last, '^(%d+)'))
    out[#out + 1] = tonumber(redis.call('HGET', touched_key, topic))
  end
end
return out
