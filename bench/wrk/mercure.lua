-- One ~100-byte Mercure update per request on the bench topic, the form the Bun publisher sends (time stamp 0).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "topic=bench&data=%7B%22t%22%3A0.000%2C%22p%22%3A%22" .. string.rep("x", 60) .. "%22%7D"
