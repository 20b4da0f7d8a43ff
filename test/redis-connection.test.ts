/** The connection the Redis log sends its commands on: a late script's refusal opens it afresh. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisConnection } from "../src/log/redis/connection";
import { hasRedis, type RedisServer, startRedis } from "./support/redis";

describe.skipIf(!hasRedis())("a Redis connection", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  test("is opened afresh after a script found its deadline passed, so the clocks' offset is measured again", async () => {
    const connection = new RedisConnection(redis.url);
    try {
      const first = await connection.send("CLIENT", ["ID"]);
      expect(await connection.send("CLIENT", ["ID"])).toBe(first);
      // Any other error Redis answers with keeps the connection.
      await expect(connection.send("EVAL", ["return redis.error_reply('NOPE other')", "0"])).rejects.toThrow(/NOPE/);
      expect(await connection.send("CLIENT", ["ID"])).toBe(first);
      await expect(connection.send("EVAL", ["return redis.error_reply('LATE stopped waiting')", "0"])).rejects.toThrow(/LATE/);
      expect(await connection.send("CLIENT", ["ID"])).not.toBe(first);
      // A deadline on Redis's clock: ours plus the offset, which on one machine is about nothing.
      const [seconds] = (await connection.send("TIME", [])) as [string, string];
      expect(Math.abs((await connection.redisTimeIn(0)) - Number(seconds) * 1000)).toBeLessThan(2000);
    } finally {
      connection.close();
    }
  });
});
