-- One batch of a node's opens and closes: written to its share and told on the feed under the node's next
-- version. A node whose liveness expired has been forgotten by the others: it writes nothing and gets 0, and
-- then writes its share whole (presence-sync.lua). Returns the new version.
local feed_key = KEYS[1]     -- stream: every node's changes, fields n (node) v (version) o (opened) c (closed)
local versions_key = KEYS[2] -- hash: node -> version of its share

local namespace = ARGV[1]
local node = ARGV[2]
local alive_ms = ARGV[3]
local feed_length = ARGV[4] -- entries the feed keeps, about
local opened_count = tonumber(ARGV[5])
-- Then per stream opened: its id and its JSON; then the ids of the streams closed.
local FIRST = 6

if redis.call('EXISTS', alive_key(namespace, node)) == 0 then return 0 end
local share = share_key(namespace, node)
local opened, closed = {}, {}
local last_opened = FIRST + 2 * opened_count - 1
for i = FIRST, last_opened, 2 do
  redis.call('HSET', share, ARGV[i], ARGV[i + 1])
  opened[#opened + 1] = ARGV[i + 1]
end
for i = last_opened + 1, #ARGV do
  redis.call('HDEL', share, ARGV[i])
  closed[#closed + 1] = ARGV[i]
end
redis.call('PEXPIRE', share, alive_ms)
local version = redis.call('HINCRBY', versions_key, node, 1)
-- The JSON of the streams as the node wrote it (numbers in payloads keep every digit); ids are URNs of UUIDs.
local closed_json = #closed == 0 and '[]' or '["' .. table.concat(closed, '","') .. '"]'
redis.call('XADD', feed_key, 'MAXLEN', '~', feed_length, '*',
  'n', node, 'v', version, 'o', '[' .. table.concat(opened, ',') .. ']', 'c', closed_json)
return version
