-- Keeps a node alive and tells who else is: refreshes the node's liveness and its share's expiry, forgets every
-- node whose liveness expired (its share with it), and returns {1 if this node was alive already, else 0 (its
-- share must then be written whole), then node, version, node, version, ... for every live node}.
local nodes_key = KEYS[1]    -- set: the nodes that share presence
local versions_key = KEYS[2] -- hash: node -> version of its share, raised by each write

local namespace = ARGV[1]
local node = ARGV[2]
local alive_ms = ARGV[3] -- how long the node counts as alive without another beat

local was_alive = redis.call('EXISTS', alive_key(namespace, node))
redis.call('SET', alive_key(namespace, node), '1', 'PX', alive_ms)
redis.call('PEXPIRE', share_key(namespace, node), alive_ms)
redis.call('SADD', nodes_key, node)
local out = {was_alive}
for _, member in ipairs(redis.call('SMEMBERS', nodes_key)) do
  if redis.call('EXISTS', alive_key(namespace, member)) == 1 then
    out[#out + 1] = member
    out[#out + 1] = redis.call('HGET', versions_key, member) or '0'
  else
    redis.call('SREM', nodes_key, member)
    redis.call('DEL', share_key(namespace, member))
    redis.call('HDEL', versions_key, member)
  end
end
return out
