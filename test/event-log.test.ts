/** The EventLog contract in process, against the embedded SQLite log and the shared Redis log (a real redis-server). */
import { afterAll } from "bun:test";
import { renameSync } from "node:fs";
import { join } from "node:path";
import { RedisEventLog } from "../src/log/redis/redis-log";
import { SqliteEventLog } from "../src/log/sqlite/sqlite-log";
import { createLogger } from "../src/logger";
import { removeDir, tempDir } from "./support/herald";
import { logContract } from "./support/log-contract";
import { hasRedis, type RedisServer, startRedis } from "./support/redis";

const quiet = createLogger("error");
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) removeDir(dir);
});

logContract("sqlite", async () => {
  const dir = tempDir();
  dirs.push(dir);
  const path = join(dir, "herald.db");
  const log = SqliteEventLog.open(path, "normal", quiet);
  return {
    log,
    // SQLite would go on writing to the renamed file; the log must refuse rather than lose what it acknowledges.
    breakStore: async () => renameSync(path, `${path}.away`),
    mendStore: async () => renameSync(`${path}.away`, path),
    close: () => log.close(),
  };
});

if (hasRedis()) {
  let prefixes = 0;
  logContract("redis", async ({ maxEventsPerTopic }) => {
    let redis: RedisServer = await startRedis();
    const log = await RedisEventLog.open(
      { url: redis.url, prefix: `contract${prefixes++}`, replicas: 0, maxEventsPerTopic },
      quiet,
    );
    return {
      log,
      breakStore: () => redis.kill(),
      mendStore: async () => {
        redis = await redis.restart();
      },
      close: async () => {
        await log.close();
        await redis.stop();
        redis.remove();
      },
    };
  });
}
