-- One ~100-byte event per request, the body the Bun publisher sends (its time stamp fixed at 0).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"data":{"t":0.000,"p":"' .. string.rep("x", 60) .. '"}}'
