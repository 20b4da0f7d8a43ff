-- A node's share as it is now, with its version: {version, id, JSON, id, JSON, ...}; {0} for a node that is gone.
local versions_key = KEYS[1]

local namespace = ARGV[1]
local node = ARGV[2]

local version = redis.call('HGET', versions_key, node)
if not version or redis.call('EXISTS', alive_key(namespace, node)) == 0 then return {0} end
local out = {version}
for _, value in ipairs(redis.call('HGETALL', share_key(namespace, node))) do out[#out + 1] = value end
return out
