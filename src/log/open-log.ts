/** Log selection: the shared Redis log when HERALD_REDIS_URL is set, else the embedded SQLite file. */
import type { Config } from "../config";
import type { Logger } from "../logger";
import type { EventLog } from "./event-log";
import { RedisEventLog } from "./redis/redis-log";
import { redactRedisUrl } from "./redis/url";
import { SqliteEventLog } from "./sqlite-log";

/** Throws a `log_unavailable` error saying why when the log cannot be opened. */
export async function openLog(config: Config, logger: Logger): Promise<EventLog> {
  if (config.redisUrl === "") return SqliteEventLog.open(config.db, config.sync, logger);
  const log = await RedisEventLog.open(
    {
      url: config.redisUrl,
      prefix: config.redisPrefix,
      replicas: config.redisReplicas,
      maxEventsPerTopic: config.retentionMaxEvents,
    },
    logger,
  );
  logger.info("cluster mode: the log is shared in Redis", {
    redis: redactRedisUrl(config.redisUrl),
    prefix: config.redisPrefix,
    newestId: log.lastId(),
  });
  return log;
}
