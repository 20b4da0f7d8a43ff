/** Connections to Redis, and what its failures mean to a publisher. */
import { RedisClient } from "bun";
import { HeraldError } from "../../errors";
import { redactRedisUrl } from "../../net/redis-url";
import type { LogFault } from "../faults";

/** How long start-up waits for Redis (it may be starting beside us) before giving up. */
const START_TIMEOUT_MS = 10_000;

/**
 * A client that reconnects by itself for as long as the hub runs, and fails commands at once while
 * disconnected (no offline queue: a publish must not wait for an outage to end).
 */
export function createClient(url: string): RedisClient {
  return new RedisClient(url, {
    autoReconnect: true,
    maxRetries: 2 ** 32 - 1,
    enableOfflineQueue: false,
    connectionTimeout: 5000,
  });
}

/** Connects, or throws a `log_unavailable` error once Redis has not answered for START_TIMEOUT_MS. */
export async function connect(url: string): Promise<RedisClient> {
  const client = createClient(url);
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(unreachable(`cannot reach Redis at ${redactRedisUrl(url)} within ${START_TIMEOUT_MS / 1000} s`)),
      START_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([client.connect(), timeout]);
    return client;
  } catch (error) {
    client.close();
    if (error instanceof HeraldError) throw error;
    throw unreachable(`cannot use Redis at ${redactRedisUrl(url)}: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

function unreachable(message: string): HeraldError {
  return new HeraldError("log_unavailable", message);
}

/** What a Redis failure means for the log: out of memory is a full store, anything else unavailable. */
export function redisFault(error: unknown): LogFault {
  const message = String((error as Error | null)?.message ?? error);
  if (message.startsWith("OOM")) {
    return {
      reason: "storage_full",
      message: "the shared log's Redis is out of memory (maxmemory); publishing resumes once memory is freed",
    };
  }
  return { reason: "log_unavailable", message: `the shared log's Redis cannot be used: ${message}` };
}
