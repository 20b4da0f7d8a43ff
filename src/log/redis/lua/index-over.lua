-- Notes which topics of one page of topic names hold more than `max_per_topic` events, for a limit lowered (or
-- set) since the set of topics over it was kept: appends note only the topics they push past it. Returns the
-- cursor of the next page ("0": done).
local topics_key = KEYS[1] -- sorted set: every topic name with retained events
local over_key = KEYS[2]   -- set: topics over the per-topic limit

local namespace = ARGV[1]  -- topic streams are namespace .. "t:" .. topic
local max_per_topic = tonumber(ARGV[2])
local cursor = ARGV[3]

local page = redis.call('ZSCAN', topics_key, cursor, 'COUNT', 200)
local members = page[2]
for i = 1, #members, 2 do
  if redis.call('XLEN', namespace .. 't:' .. members[i]) > max_per_topic then redis.call('SADD', over_key, members[i]) end
end
return page[1]
