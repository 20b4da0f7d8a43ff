-- One page of topics with retained events, in byte order of their names, after the name `after`
-- ("" to start). Returns {last name looked at, topic, events, first id, last id, last time, ...};
-- the last name is "" once every topic was looked at.
local topics_key = KEYS[1] -- sorted set: every topic name

local namespace = ARGV[1]  -- topic streams are namespace .. "t:" .. topic, fields e d m [k]
local after = ARGV[2]
local page = tonumber(ARGV[3])

local names = redis.call('ZRANGEBYLEX', topics_key, after == '' and '-' or '(' .. after, '+', 'LIMIT', 0, page)
local out = {#names < page and '' or names[#names]}
for _, topic in ipairs(names) do
  local topic_key = namespace .. 't:' .. topic
  local events = redis.call('XLEN', topic_key)
  if events > 0 then
    local first = redis.call('XRANGE', topic_key, '-', '+', 'COUNT', 1)[1]
    local last = redis.call('XREVRANGE', topic_key, '+', '-', 'COUNT', 1)[1]
    out[#out + 1] = topic
    out[#out + 1] = events
    out[#out + 1] = id_of(first[1])
    out[#out + 1] = id_of(last[1])
    out[#out + 1] = tonumber(field(last[2], 'm'))
  end
end
return out
