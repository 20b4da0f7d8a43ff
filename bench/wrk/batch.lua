-- POST /events with a batch of 100 ~100-byte events on the bench topic, as the Bun publisher sends.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local one = '{"topic":"bench","data":{"t":0.000,"p":"' .. string.rep("x", 60) .. '"}}'
local events = {}
for i = 1, 100 do
  events[i] = one
end
wrk.body = '{"events":[' .. table.concat(events, ",") .. ']}'
