/**
 * The main thread of a hub with several workers (HERALD_WORKERS > 1): it serves no HTTP. It claims the port,
 * owns the log's writes (group commit, its fsync on this thread only) and retention, and coordinates the
 * workers that serve on the port: each committed batch to all of them, stream slots, presence and metrics for the
 * whole hub, a worker that dies replaced.
 */
import type { Config } from "../config";
import { ConfigError } from "../errors";
import { claimPort, logReload } from "../http/listener";
import type { EventLog } from "../log/event-log";
import { openPresenceExchange } from "../log/open";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import { urlHost } from "../net/url-host";
import { logOptions, serveSettings } from "../parts";
import { bindFailure } from "../startup";
import { Coordinator } from "./coordinator";
import { PresenceRelay } from "./presence-relay";
import { Supervisor } from "./supervisor";
import { endHub } from "./watchdog";

/** What boot does with a hub once it serves, whichever threads serve it. */
export interface Serving {
  readonly url: string;
  /** SIGHUP: the TLS files read again. */
  reload(): void;
  /** Refuses new work from now on, on every thread (/health says draining), and ends every stream. */
  halt(): Promise<void>;
  /** Once halted: lets in-flight requests finish, stops listening. */
  drain(): Promise<void>;
}

export interface WorkersDeps {
  /** Where a worker thread begins: workers/thread.ts, an entry point of its own in the compiled binary. */
  readonly thread: URL;
  readonly config: Config;
  readonly workers: number;
  readonly log: EventLog;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** When the process started (Unix ms). */
  readonly startedAt: number;
}

/** Throws a ConfigError saying why the hub cannot serve (the port, a worker that could not start). */
export async function serveWithWorkers({
  thread,
  config,
  workers,
  log,
  logger,
  metrics,
  startedAt,
}: WorkersDeps): Promise<Serving> {
  let port: number;
  try {
    // Claimed without SO_REUSEPORT first: fails, as one thread's listen would, when anyone else holds it.
    port = claimPort(serveSettings(config));
  } catch (error) {
    throw new ConfigError(bindFailure(error, config.host, config.port));
  }
  // In cluster mode this thread is the process's one member of the cluster's presence, for every worker.
  const presence = new PresenceRelay(openPresenceExchange(logOptions(config), config.presenceTtlMs, logger));
  await presence.start();
  const coordinator = new Coordinator(
    log,
    {
      maxSubscribers: config.maxSubscribers,
      maxStreamsPerClient: config.maxStreamsPerClient,
      workerHung: ({ slot, silentMs }) => endHub(config.logLevel, "a worker", { worker: slot, silentMs }),
    },
    metrics,
    presence,
  );
  const supervisor = new Supervisor(thread, { ...config, port }, startedAt, coordinator, logger);
  try {
    const certificate = await supervisor.start(workers);
    if (certificate) logger.info("tls certificate loaded", { ...certificate });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  process.on("SIGUSR2", () => supervisor.killOldest());
  return {
    url: `${config.tlsCert ? "https" : "http"}://${urlHost(config.host)}:${port}`,
    reload: () => {
      void coordinator.reload().then((outcomes) => {
        for (const outcome of outcomes) logReload(logger, outcome);
      });
    },
    halt: () => supervisor.halt(),
    drain: async () => {
      await supervisor.drain();
      coordinator.stop();
      // The other nodes forget this one's streams at once, rather than when its liveness runs out.
      await presence.stop();
    },
  };
}
