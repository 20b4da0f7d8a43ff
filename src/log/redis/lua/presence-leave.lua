-- A node leaving: its keys go, and the feed says so (field g), so the others forget its streams at once.
local feed_key = KEYS[1]
local nodes_key = KEYS[2]
local versions_key = KEYS[3]

local namespace = ARGV[1]
local node = ARGV[2]
local feed_length = ARGV[3]

redis.call('DEL', alive_key(namespace, node), share_key(namespace, node))
redis.call('SREM', nodes_key, node)
redis.call('HDEL', versions_key, node)
redis.call('XADD', feed_key, 'MAXLEN', '~', feed_length, '*', 'n', node, 'g', '1')
return 1
