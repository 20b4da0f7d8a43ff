/** Opening the configured log: the shared Redis log in cluster mode, else the embedded SQLite file. */
import type { Logger } from "../logger";
import { redactRedisUrl } from "../net/redis-url";
import type { EventLog, LogReads } from "./event-log";
import type { LogFault } from "./faults";
import type { PresenceExchange } from "./presence-exchange";
import { RedisPresenceExchange } from "./redis/presence";
import { RedisReads } from "./redis/reads";
import { RedisEventLog, type RedisLogOptions } from "./redis/redis-log";
import { SqliteReads } from "./sqlite/reads";
import { SqliteEventLog, type SqliteLogOptions } from "./sqlite/sqlite-log";

export type LogOptions = { readonly sqlite: SqliteLogOptions } | { readonly redis: RedisLogOptions };

/** Throws a `log_unavailable` error saying why when the log cannot be opened. */
export async function openEventLog(options: LogOptions, logger: Logger): Promise<EventLog> {
  if ("sqlite" in options) return SqliteEventLog.open(options.sqlite.path, options.sqlite.sync, logger);
  const { redis } = options;
  const log = await RedisEventLog.open(redis, logger);
  logger.info("cluster mode: the log is shared in Redis", {
    redis: redactRedisUrl(redis.url),
    prefix: redis.prefix,
    newestId: log.lastId(),
  });
  return log;
}

/**
 * Opens a second, reading connection to the configured log (a worker thread's), beside the writer's.
 * @param head the highest id the reading thread has announced (SQLite reads never look past it)
 */
export function openLogReads(options: LogOptions, head: () => number, onFault: (fault: LogFault) => void): LogReads {
  if ("sqlite" in options) return new SqliteReads(options.sqlite.path, head, onFault);
  return new RedisReads(options.redis, onFault);
}

/**
 * How this node shares presence with the others of its cluster: through the Redis of the shared log; none for the
 * embedded log, whose one process knows every stream. `ttlMs` bounds how long a dead node's streams stay listed.
 */
export function openPresenceExchange(options: LogOptions, ttlMs: number, logger: Logger): PresenceExchange | undefined {
  if ("sqlite" in options) return undefined;
  return new RedisPresenceExchange({ url: options.redis.url, prefix: options.redis.prefix, ttlMs }, logger);
}
