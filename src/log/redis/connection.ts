/** Connections to Redis with a deadline on every command, and what Redis's failures mean to a publisher. */
import { RedisClient } from "bun";
import { HeraldError } from "../../errors";
import { redactRedisUrl } from "../../net/redis-url";
import type { LogFault } from "../faults";
import { redisRefusal } from "./refusal";

/** How long one command may take before Redis counts as unreachable: a paused or partitioned Redis never answers. */
export const COMMAND_TIMEOUT_MS = 2000;
/** How long opening a connection may take, likewise. */
const CONNECT_TIMEOUT_MS = 2000;
/** How long start-up waits for Redis (it may be starting beside us) before giving up. */
const START_TIMEOUT_MS = 10_000;

/** Redis's reply to a command or a script: strings, integers, nulls and arrays of them. */
export type Reply = string | number | null | Reply[];

/**
 * How a script that found its deadline passed answers (append.lua). The clocks' offset may have gone stale
 * (Redis's clock stepped): the connection is opened afresh, which measures it again.
 */
const LATE_REPLY = "LATE";

/** Redis did not answer within the deadline: the connection it was sent on is given up. */
class Timeout extends Error {}

function deadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout(`${what}: no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * One connection, opened when first needed and opened afresh after it failed or a command timed out. Bun's
 * client does not always come back by itself from a connection that timed out while Redis was paused, so a
 * connection in doubt is closed and replaced rather than left to reconnect. Commands fail at once while Redis
 * cannot be reached (no offline queue: a publish must not wait for an outage to end).
 */
export class RedisConnection {
  private client: RedisClient | undefined;
  private opening: Promise<RedisClient> | undefined;
  private closed = false;
  /** Redis's clock less ours, in ms, as measured when the connection opened (to the half round trip). */
  private clockOffsetMs = 0;

  constructor(private readonly url: string) {}

  /**
   * The time on Redis's clock (ms since the epoch) `ms` from now, opening the connection if need be: a deadline
   * a script can hold itself to, so that one Redis runs after we stopped waiting for it (it was paused) writes nothing.
   */
  async redisTimeIn(ms: number): Promise<number> {
    await this.open();
    return Date.now() + this.clockOffsetMs + ms;
  }

  /** Sends a command and waits at most `timeoutMs` for its answer. */
  async send(command: string, args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<Reply> {
    const client = await this.open();
    try {
      return (await deadline(client.send(command, [...args]), timeoutMs, command)) as Reply;
    } catch (error) {
      // An error Redis answered with (a script's, NOSCRIPT, OOM) leaves the connection fine; anything else does not.
      const late = String((error as Error | null)?.message).startsWith(LATE_REPLY);
      if (error instanceof Timeout || !client.connected || late) this.drop(client);
      throw error;
    }
  }

  close(): void {
    this.closed = true;
    if (this.client) this.drop(this.client);
  }

  private open(): Promise<RedisClient> {
    if (this.closed) return Promise.reject(new Error("the connection to Redis is closed"));
    if (this.client?.connected) return Promise.resolve(this.client);
    this.opening ??= this.connect().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async connect(): Promise<RedisClient> {
    if (this.client) this.drop(this.client);
    const client = new RedisClient(this.url, {
      autoReconnect: false,
      enableOfflineQueue: false,
      connectionTimeout: CONNECT_TIMEOUT_MS,
    });
    try {
      await deadline(client.connect(), CONNECT_TIMEOUT_MS, "connect");
    } catch (error) {
      client.close();
      throw error;
    }
    if (this.closed) {
      client.close();
      throw new Error("the connection to Redis is closed");
    }
    try {
      this.clockOffsetMs = await clockOffset(client);
    } catch (error) {
      client.close();
      throw error;
    }
    this.client = client;
    return client;
  }

  private drop(client: RedisClient): void {
    if (this.client === client) this.client = undefined;
    client.close();
  }
}

/** Redis's clock less ours (ms), read with TIME and taken at the middle of its round trip. */
async function clockOffset(client: RedisClient): Promise<number> {
  const sent = Date.now();
  const [seconds, micros] = (await deadline(client.send("TIME", []), COMMAND_TIMEOUT_MS, "TIME")) as [string, string];
  const received = Date.now();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (sent + received) / 2;
}

/**
 * Checks that Redis takes our connection, waiting up to START_TIMEOUT_MS for it to come up (it may be starting
 * beside us), or throws a `log_unavailable` error saying why, in Redis's words where it refused us. Bun's own
 * reconnecting client waits out a refused port; any other failure (a wrong password, a bad database number) is final.
 */
export async function checkReachable(url: string): Promise<void> {
  const client = new RedisClient(url, { autoReconnect: true, maxRetries: 2 ** 32 - 1, connectionTimeout: 5000 });
  const where = redactRedisUrl(url);
  try {
    await deadline(client.connect(), START_TIMEOUT_MS, "connect");
  } catch (error) {
    if (error instanceof Timeout) {
      throw new HeraldError("log_unavailable", `cannot reach Redis at ${where} within ${START_TIMEOUT_MS / 1000} s`);
    }
    const why = (await redisRefusal(url)) ?? (error as Error).message;
    throw new HeraldError("log_unavailable", `cannot use Redis at ${where}: ${why}`);
  } finally {
    client.close();
  }
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
