-- The highest id retention deleted on the topics some selectors match, or lost when Redis came back with
-- fewer events than the nodes had seen; 0 if none. One lookup per selector, however many topics it matches.
local pruned_key = KEYS[1]   -- hash: topic -> highest id deleted
local prefixes_key = KEYS[2] -- hash: name prefix -> highest id deleted on the topics it starts ("" : any)
local head_key = KEYS[3]     -- hash: lost -> highest id lost to a rollback

local exact_count = tonumber(ARGV[1]) -- then the exact topics, then the prefixes ("" for all)
local FIRST_SELECTOR_ARG = 2

local highest = tonumber(redis.call('HGET', head_key, 'lost') or 0)
for i = FIRST_SELECTOR_ARG, #ARGV do
  local key = i < FIRST_SELECTOR_ARG + exact_count and pruned_key or prefixes_key
  highest = math.max(highest, tonumber(redis.call('HGET', key, ARGV[i]) or 0))
end
return highest
