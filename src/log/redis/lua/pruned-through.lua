-- The highest id retention deleted on the topics some selectors match, or 0.
local topics_key = KEYS[1] -- sorted set: every topic name
local pruned_key = KEYS[2] -- hash: topic -> highest id deleted; "" -> highest on any topic

local exact_count = tonumber(ARGV[1]) -- then the exact topics, then the prefixes ("" for all)
local FIRST_SELECTOR_ARG = 2

local highest = 0
local function consider(name)
  highest = math.max(highest, tonumber(redis.call('HGET', pruned_key, name) or 0))
end
for i = FIRST_SELECTOR_ARG, #ARGV do
  local selector = ARGV[i]
  if i < FIRST_SELECTOR_ARG + exact_count or selector == '' then
    consider(selector)
  else
    for _, topic in ipairs(redis.call('ZRANGEBYLEX', topics_key, '[' .. selector, '[' .. selector .. '\255')) do
      consider(topic)
    end
  end
end
return highest
