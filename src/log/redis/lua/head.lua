-- The highest id assigned, raised first past `floor` if it is lower (see raise_head). Being a script that may
-- write, it also fails as an append would (out of memory, a replica, a failed disk), which makes it the probe
-- of whether appends work. Returns {id before, id after}.
local head_key = KEYS[1] -- hash: id (highest id assigned), time, lost (highest id lost to a rollback)

local floor = tonumber(ARGV[1])

local before, after = raise_head(head_key, floor)
return {before, after}
