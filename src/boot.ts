/** Boot: config → log (migrations) → hub → retention → listen; drain on SIGTERM/SIGINT; SIGHUP reloads TLS files. */
import { createApp } from "./app";
import { type Config, configWarnings, describeConfig, helpText, loadConfig } from "./config";
import { ConfigError, HeraldError } from "./errors";
import { IDLE_TIMEOUT_S } from "./http/idle";
import { Listener } from "./http/listener";
import { sharedSelectors } from "./http/shared-selectors";
import { tlsFiles } from "./http/tls";
import { Hub } from "./hub/hub";
import { sharePresence } from "./hub/presence-sharing";
import type { EventLog } from "./log/event-log";
import { type LogOptions, openEventLog, openPresenceExchange } from "./log/open";
import { Retention } from "./log/retention";
import { createLogger } from "./logger";
import { Metrics } from "./metrics";
import { urlHost } from "./net/url-host";
import { patternBase } from "./patterns/url-pattern";
import { onSignal } from "./signals";
import { bindFailure, checkResolvable, refuseToStart } from "./startup";

/** Longest a graceful stop may take before the process exits anyway (the spec allows 5 s). */
const STOP_DEADLINE_MS = 4500;

function readConfig(argv: string[]): Config {
  try {
    return loadConfig(argv, process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    refuseToStart(error.message);
  }
}

/** `herald healthcheck`: for container health checks, where no curl is at hand. */
async function healthcheck(config: Config): Promise<never> {
  const wildcard: Record<string, string> = { "0.0.0.0": "127.0.0.1", "::": "::1" };
  try {
    const scheme = config.tlsCert ? "https" : "http";
    const res = await fetch(`${scheme}://${urlHost(wildcard[config.host] ?? config.host)}:${config.port}/health`, {
      signal: AbortSignal.timeout(3000),
      // This machine's own hub, by address: its certificate names the public host, and the probe sends no secret.
      tls: { rejectUnauthorized: false },
    });
    process.exit(res.ok ? 0 : 1);
  } catch {
    process.exit(1);
  }
}

/** The log the settings select: the shared Redis log when HERALD_REDIS_URL is set, else the SQLite file. */
function logOptions(config: Config): LogOptions {
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

/** A log that cannot be opened (unreadable, another program's file, a newer schema, no Redis) stops start-up. */
async function openStartupLog(): Promise<EventLog> {
  try {
    return await openEventLog(logOptions(config), logger);
  } catch (error) {
    if (!(error instanceof HeraldError)) throw error;
    refuseToStart(error.message);
  }
}

const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  process.stdout.write(helpText());
  process.exit(0);
}
if (argv[0] === "healthcheck") await healthcheck(readConfig(argv.slice(1)));

const config = readConfig(argv);
const logger = createLogger(config.logLevel);
let stopping = false;
let listener: Listener | undefined;
// Also a SIGHUP held since the process began: until the hub listens there is nothing to reload, and the listener
// reads the certificate and key as it starts.
onSignal("SIGHUP", () => {
  if (stopping) return;
  if (listener) listener.reload();
  else logger.info("SIGHUP while starting: nothing to reload yet, the certificate is read as the hub starts listening");
});
for (const warning of configWarnings(argv, process.env)) logger.warn(warning.msg, warning.fields);
await checkResolvable(config.host);
const startedAt = Date.now();
const metrics = new Metrics();
const log = await openStartupLog();
const hub = new Hub(log, config, logger, metrics);
const presenceExchange = openPresenceExchange(logOptions(config), config.presenceTtlMs, logger);
if (presenceExchange) {
  const base = patternBase(config.mercureAudience);
  await sharePresence(hub.presence, presenceExchange, (shared) => sharedSelectors(shared, base), logger);
}
const retention = new Retention(
  log,
  { maxAgeMs: config.retentionMaxAgeMs, maxEventsPerTopic: config.retentionMaxEvents },
  logger,
  (count) => {
    metrics.pruned += count;
  },
);
const app = await createApp({ config, hub, log, logger, metrics, startedAt });

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info("herald stopping", { signal });
  listener?.closeConnections();
  setTimeout(() => {
    logger.error("graceful stop took too long; exiting");
    process.exit(1);
  }, STOP_DEADLINE_MS).unref();
  // /health turns 503 and new publishes and streams are refused; streams end with a proper last chunk.
  await hub.drain();
  // The other nodes forget this one's streams at once, rather than when its liveness runs out.
  await presenceExchange?.stop();
  await retention.stop();
  // The listener stays open while in-flight requests finish, so probes see the 503 rather than a refused
  // connection, and keep-alive clients are told to close theirs rather than finding it closed under them; a
  // request that hangs does not hold the exit past its share of the deadline.
  await listener?.settle(performance.now() + 2500);
  await listener?.stop();
  await log.close();
  logger.info("herald stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));

/** TLS files that cannot be used, or a port that cannot be bound, stop start-up. */
async function listen(): Promise<Listener> {
  const settings = {
    port: config.port,
    hostname: config.host,
    // Ordinary requests get Bun's 10 s; streams opt out per request and send heartbeats.
    idleTimeout: IDLE_TIMEOUT_S,
    // Never Bun's empty 413: the routes read bodies as streams and answer past their limit with our JSON 413.
    maxRequestBodySize: Number.POSITIVE_INFINITY,
  };
  try {
    return Listener.start(app, settings, tlsFiles(config), logger);
  } catch (error) {
    await log.close();
    refuseToStart(error instanceof ConfigError ? error.message : bindFailure(error, config.host, config.port));
  }
}
listener = await listen();
retention.start();

logger.info("herald started", { url: listener.url, settings: describeConfig(config) });
if (config.jwtSecret === "" && config.jwtPublicKeys.length === 0) {
  logger.warn("open mode: HERALD_JWT_SECRET and HERALD_JWT_PUBLIC_KEY are unset, anyone may publish and subscribe");
} else if (config.mercureAudience === "" || config.mercureIssuer === "") {
  // Draft 08 wants both configured; unset, a token of this hub's key is taken whatever hub or issuer it names.
  logger.warn(
    "HERALD_MERCURE_AUDIENCE or HERALD_MERCURE_ISSUER is unset: authorization_details tokens are not checked for them",
    {
      audience: config.mercureAudience !== "",
      issuer: config.mercureIssuer !== "",
    },
  );
}
