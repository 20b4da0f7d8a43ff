-- Indexes the pruned-through ids of one page of topics under every prefix of their names, for a log whose
-- topics were pruned by a Herald that kept no such index. Returns the cursor of the next page ("0": done).
local pruned_key = KEYS[1]   -- hash: topic -> highest id deleted
local prefixes_key = KEYS[2] -- hash: name prefix -> highest id deleted on the topics it starts

local cursor = ARGV[1]

local page = redis.call('HSCAN', pruned_key, cursor, 'COUNT', 200)
local fields = page[2]
for i = 1, #fields, 2 do
  -- "" was the highest over all topics; every topic's own entry raises the "" prefix anyway.
  if fields[i] ~= '' then raise_pruned(pruned_key, prefixes_key, fields[i], tonumber(fields[i + 1])) end
end
return page[1]
