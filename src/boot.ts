/**
 * Boot: config → log (migrations) → hub → retention → listen, on this thread or, with HERALD_WORKERS > 1, on worker
 * threads beside this one's writer; drain on SIGTERM/SIGINT; SIGHUP reloads TLS files.
 */
import { createApp } from "./app";
import { type Config, configWarnings, describeConfig, helpText, loadConfig } from "./config";
import { ConfigError, HeraldError } from "./errors";
import { type Listenable, listenable } from "./http/listenable";
import { Listener, logReload } from "./http/listener";
import { tlsFiles } from "./http/tls";
import { Hub } from "./hub/hub";
import { sharePresence } from "./hub/presence-sharing";
import type { EventLog } from "./log/event-log";
import { openEventLog, openPresenceExchange } from "./log/open";
import { Retention } from "./log/retention";
import { createLogger } from "./logger";
import { Metrics } from "./metrics";
import { urlHost } from "./net/url-host";
import { logOptions, presenceSelectors, retentionPolicy, serveSettings, workerCount } from "./parts";
import { onSignal } from "./signals";
import { bindFailure, checkResolvable, refuseToStart } from "./startup";
import { type Serving, serveWithWorkers } from "./workers/main";

/**
 * A worker thread's entry point. Resolved here, at the root of src/: the compiled binary keeps each entry point's
 * path under this one (`bun build --compile src/index.ts src/workers/thread.ts`), where a module that imports it
 * is bundled into the root's file.
 */
const WORKER_THREAD = new URL("./workers/thread.ts", import.meta.url);

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
let serving: Serving | undefined;
// Also a SIGHUP held since the process began: until the hub listens there is nothing to reload, and the listener
// reads the certificate and key as it starts.
onSignal("SIGHUP", () => {
  if (stopping) return;
  if (serving) serving.reload();
  else logger.info("SIGHUP while starting: nothing to reload yet, the certificate is read as the hub starts listening");
});
for (const warning of configWarnings(argv, process.env)) logger.warn(warning.msg, warning.fields);
await checkResolvable(config.host);
const startedAt = Date.now();
const metrics = new Metrics();
const log = await openStartupLog();
const retention = new Retention(log, retentionPolicy(config), logger, (count) => {
  metrics.pruned += count;
});

/** One thread serves HTTP and writes the log, as Herald always did. */
async function serveAlone(): Promise<Serving> {
  const hub = new Hub(log, config, logger, metrics);
  const presenceExchange = openPresenceExchange(logOptions(config), config.presenceTtlMs, logger);
  if (presenceExchange) await sharePresence(hub.presence, presenceExchange, presenceSelectors(config), logger);
  const app = await createApp({ config, hub, log, logger, metrics, startedAt });
  const listener = await listen(listenable(app));
  let draining: Promise<void> | undefined;
  return {
    url: listener.url,
    reload: () => logReload(logger, listener.reload()),
    halt: async () => {
      listener.closeConnections();
      // /health turns 503 and new publishes and streams are refused; streams end with a proper last chunk.
      draining = hub.drain();
    },
    drain: async () => {
      await draining;
      // The other nodes forget this one's streams at once, rather than when its liveness runs out.
      await presenceExchange?.stop();
      // The listener stays open while in-flight requests finish, so probes see the 503 rather than a refused
      // connection, and keep-alive clients are told to close theirs rather than finding it closed under them; a
      // request that hangs does not hold the exit past its share of the deadline.
      await listener.settle(performance.now() + 2500);
      await listener.stop();
    },
  };
}

/** TLS files that cannot be used, or a port that cannot be bound, stop start-up. */
async function listen(app: Listenable): Promise<Listener> {
  try {
    return Listener.start(app, serveSettings(config), tlsFiles(config), logger);
  } catch (error) {
    await log.close();
    refuseToStart(error instanceof ConfigError ? error.message : bindFailure(error, config.host, config.port));
  }
}

/** Several workers serve on the port; this thread writes the log and coordinates them. */
async function serveFromWorkers(): Promise<Serving> {
  try {
    return await serveWithWorkers({ thread: WORKER_THREAD, config, workers, log, logger, metrics, startedAt });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    await log.close();
    refuseToStart(error.message);
  }
}

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  setTimeout(() => {
    logger.error("graceful stop took too long; exiting");
    process.exit(1);
  }, STOP_DEADLINE_MS).unref();
  // Every thread refuses new work before this line says the hub stops.
  await serving?.halt();
  logger.info("herald stopping", { signal });
  await Promise.all([serving?.drain(), retention.stop()]);
  await log.close();
  logger.info("herald stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));

const workers = workerCount(config);
serving = workers > 1 ? await serveFromWorkers() : await serveAlone();
retention.start();

logger.info("herald started", { url: serving.url, settings: describeConfig(config) });
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
