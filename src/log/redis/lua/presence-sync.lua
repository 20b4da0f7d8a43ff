-- Writes a node's share whole (at start, and after it was forgotten or a change could not be written), makes
-- it alive, and tells the feed to read it again (field s). Returns the new version.
local feed_key = KEYS[1]
local nodes_key = KEYS[2]
local versions_key = KEYS[3]

local namespace = ARGV[1]
local node = ARGV[2]
local alive_ms = ARGV[3]
local feed_length = ARGV[4]
-- Then per open stream: its id and its JSON.
local FIRST = 5

local share = share_key(namespace, node)
redis.call('DEL', share)
for i = FIRST, #ARGV, 2 do redis.call('HSET', share, ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', share, alive_ms)
redis.call('SET', alive_key(namespace, node), '1', 'PX', alive_ms)
redis.call('SADD', nodes_key, node)
local version = redis.call('HINCRBY', versions_key, node, 1)
redis.call('XADD', feed_key, 'MAXLEN', '~', feed_length, '*', 'n', node, 'v', version, 's', '1')
return version
