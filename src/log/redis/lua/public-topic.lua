-- One step of the search for a topic's first or last event that is not a private update, for a reader who may not
-- see them: reads up to STEP entries of the topic's stream from `cursor` towards one end. Returns {public events,
-- id, time, cursor}: the id (0 for none yet) and time of the event found, else the cursor the next step starts
-- from ("" at the end of the stream). Public events 0: the topic holds none.
local privates_key = KEYS[1] -- hash: topic -> its retained private updates

local namespace = ARGV[1]    -- topic streams are namespace .. "t:" .. topic, fields e d m [k] [x h]
local topic = ARGV[2]
local command = ARGV[3]      -- XRANGE from the oldest, XREVRANGE from the newest
local cursor = ARGV[4]       -- '-' or '+' to begin, then "(<entry id>"
local STEP = 256

local topic_key = namespace .. 't:' .. topic
local events = redis.call('XLEN', topic_key) - tonumber(redis.call('HGET', privates_key, topic) or 0)
if events <= 0 then return {0, 0, 0, ''} end

local entries = redis.call(command, topic_key, cursor, command == 'XRANGE' and '+' or '-', 'COUNT', STEP)
for _, e in ipairs(entries) do
  local update = field(e[2], 'x')
  if update == nil or cjson.decode(update).p ~= true then
    return {events, id_of(e[1]), tonumber(field(e[2], 'm')), ''}
  end
end
return {events, 0, 0, #entries < STEP and '' or '(' .. entries[#entries][1]}
