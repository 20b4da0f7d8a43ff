-- One page of the topics with retained events that fall in some name ranges, in byte order of their names.
-- Returns {last name looked at, topic, events, first id, last id, last time, private events, ...}; the last name is "" once
-- every name in the ranges was looked at. Costs what the page holds: each range is one ZRANGEBYLEX with a LIMIT.
local topics_key = KEYS[1] -- sorted set: every topic name with retained events
local privates_key = KEYS[2] -- hash: topic -> its retained private updates

local namespace = ARGV[1]  -- topic streams are namespace .. "t:" .. topic, fields e d m [k]
local page = tonumber(ARGV[2])
local FIRST_RANGE_ARG = 3  -- then pairs of ZRANGEBYLEX bounds, one pair per selector

local names, seen = {}, {}
for i = FIRST_RANGE_ARG, #ARGV, 2 do
  for _, name in ipairs(redis.call('ZRANGEBYLEX', topics_key, ARGV[i], ARGV[i + 1], 'LIMIT', 0, page)) do
    if not seen[name] then
      seen[name] = true
      names[#names + 1] = name
    end
  end
end
table.sort(names)
local looked = math.min(#names, page)
local out = {#names < page and '' or names[page]}
for i = 1, looked do
  local topic = names[i]
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
    out[#out + 1] = tonumber(redis.call('HGET', privates_key, topic) or 0)
  end
end
return out
