/** Each part's options, from the config: what the log, the hub's listener, retention and presence are handed, on every thread. */
import type { Config } from "./config";
import { IDLE_TIMEOUT_S } from "./http/idle";
import type { ServeSettings } from "./http/listener";
import { sharedSelectors } from "./http/shared-selectors";
import type { SelectorsOf } from "./hub/presence-sharing";
import type { LogOptions } from "./log/open";
import type { RetentionPolicy } from "./log/retention";
import { patternBase } from "./patterns/url-pattern";

/** The log the settings select: the shared Redis log when HERALD_REDIS_URL is set, else the SQLite file. */
export function logOptions(config: Config): LogOptions {
  if (config.redisUrl === "") return { sqlite: { path: config.db, sync: config.sync } };
  return {
    redis: {
      url: config.redisUrl,
      prefix: config.redisPrefix,
      replicas: config.redisReplicas,
      maxEventsPerTopic: config.retentionMaxEvents,
    },
  };
}

export function serveSettings(config: Config): ServeSettings {
  return {
    port: config.port,
    hostname: config.host,
    // Ordinary requests get Bun's 10 s; streams opt out per request and send heartbeats.
    idleTimeout: IDLE_TIMEOUT_S,
    // Never Bun's empty 413: the routes read bodies as streams and answer past their limit with our JSON 413.
    maxRequestBodySize: Number.POSITIVE_INFINITY,
  };
}

export function retentionPolicy(config: Config): RetentionPolicy {
  return { maxAgeMs: config.retentionMaxAgeMs, maxEventsPerTopic: config.retentionMaxEvents };
}

/** Threads that serve: an in-memory SQLite log lives in one connection, so only one thread can hold it. */
export function workerCount(config: Config): number {
  return config.redisUrl === "" && config.db === ":memory:" ? 1 : config.workers;
}

/** How a stream another node or worker shared is read here: as the API that opened it, URL patterns against the hub's URL. */
export function presenceSelectors(config: Config): SelectorsOf {
  const base = patternBase(config.mercureAudience);
  return (shared) => sharedSelectors(shared, base);
}
