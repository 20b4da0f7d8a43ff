-- The highest id assigned, raised first to `floor` if it is lower: a node that has seen ids up to
-- `floor` keeps them from being handed out again when Redis comes back with less (an older backup,
-- a lost write under appendfsync everysec). Being a script that may write, it also fails as an append
-- would (out of memory, a replica, a failed disk), which makes it the probe of whether appends work.
-- Returns {id before, id after}.
local log_key = KEYS[1]  -- stream: every event
local head_key = KEYS[2] -- hash: id (highest id assigned), time

local floor = tonumber(ARGV[1])

local id = tonumber(redis.call('HGET', head_key, 'id') or 0)
if id >= floor then return {id, id} end
redis.call('HSET', head_key, 'id', string.format('%d', floor))
if redis.call('EXISTS', log_key) == 1 then
  local top = redis.call('XREVRANGE', log_key, '+', '-', 'COUNT', 1)[1]
  if top == nil or tonumber(string.match(top[1], '^(%d+)')) < floor then
    redis.call('XSETID', log_key, entry_of(floor))
  end
end
return {id, floor}
