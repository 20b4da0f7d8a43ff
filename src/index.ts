/** Boot: config → log (migrations) → hub → listen; drain on SIGTERM/SIGINT. */
import { createApp } from "./app";
import { type Config, ConfigError, describeConfig, helpText, loadConfig } from "./config";
import { maxRequestBytes } from "./http/body";
import { Hub } from "./hub/hub";
import { SqliteEventLog } from "./log/sqlite-log";
import { createLogger } from "./logger";

const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  process.stdout.write(helpText());
  process.exit(0);
}

let config: Config;
try {
  config = loadConfig(argv, process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`herald: ${error.message}\n`);
  process.exit(2);
}

const logger = createLogger(config.logLevel);
const startedAt = Date.now();
const log = new SqliteEventLog(config.db, config.sync);
const hub = new Hub(log, config, logger);
const app = createApp({ config, hub, logger, startedAt });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info("herald stopping", { signal });
  const deadline = setTimeout(() => process.exit(1), 4500);
  await hub.drain();
  await app.server?.stop();
  await log.close();
  clearTimeout(deadline);
  logger.info("herald stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));

app.listen({
  port: config.port,
  hostname: config.host,
  // One process owns the port: a second one sharing it would split subscribers between two broadcasters.
  reusePort: false,
  // Ordinary requests get Bun's 10 s; streams opt out per request and send heartbeats.
  idleTimeout: 10,
  maxRequestBodySize: maxRequestBytes(config.maxEventBytes),
});

logger.info("herald started", { url: `http://${config.host}:${app.server?.port}`, settings: describeConfig(config) });
if (!config.jwtSecret) logger.warn("open mode: HERALD_JWT_SECRET is unset, anyone may publish and subscribe");
