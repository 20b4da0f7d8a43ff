/**
 * A worker thread: the whole HTTP application over a hub of its own, on the port every worker shares. Its log
 * is a WorkerLog: appends go to the main thread, which owns every write; commits come back from there; reads
 * run on this thread's own connection. Whatever only the whole hub knows (stream slots, /health, /metrics), it
 * asks the main thread; presence it mirrors, as a cluster node mirrors the others' (presence-link.ts).
 */
import { parentPort, workerData } from "node:worker_threads";
import { createApp, type HubWide } from "../app";
import { ConfigError } from "../errors";
import { listenable } from "../http/listenable";
import { Listener } from "../http/listener";
import { tlsFiles } from "../http/tls";
import { withHeader } from "../http/traffic";
import { Hub } from "../hub/hub";
import { sharePresence } from "../hub/presence-sharing";
import { openLogReads } from "../log/open";
import { createLogger } from "../logger";
import { Metrics } from "../metrics";
import { logOptions, presenceSelectors, serveSettings } from "../parts";
import { bindFailure } from "../startup";
import { Channel, type Port } from "./channel";
import { joinWriter } from "./link";
import { WorkerPresence } from "./presence-link";
import type { FromWorker, ToWorker, WorkerData } from "./protocol";
import { endHub } from "./watchdog";

/** Every answer says which worker gave it: how a client (or a test) tells the workers apart. */
const WORKER_HEADER = "Herald-Worker";

const { config, index, startedAt } = workerData as WorkerData;
const channel = new Channel<FromWorker, ToWorker>(parentPort as unknown as Port);
const logger = createLogger(config.logLevel);
const metrics = new Metrics(false);

const link = await joinWriter(channel, index, (head, onFault) => openLogReads(logOptions(config), head, onFault));
const { log } = link;
const hub = new Hub(log, config, logger, metrics);
// Before it listens: every stream it opens is shared, and it lists every other worker's from the start.
await sharePresence(hub.presence, new WorkerPresence(channel, index), presenceSelectors(config), logger);
const hubWide: HubWide = {
  slots: {
    take: async (entry) => {
      const ticket = await channel.request("admit", entry);
      const countOut = link.countStream();
      let returned = false;
      return () => {
        if (returned) return;
        returned = true;
        countOut();
        channel.notify("release", ticket);
      };
    },
  },
  health: () => ({ subscribers: link.subscribers(), lastEventId: log.lastId(), fault: log.faults.current, draining: false }),
  metrics: () => channel.request("metrics", null),
};
const app = await createApp({ config, hub, log, logger, metrics, startedAt, hubWide });
channel.handle("counts", () => ({ ...metrics.counts(), subscribers: hub.subscriberCount }));

/** The app, its every answer naming this worker. */
const named = listenable(app, (response) => withHeader(response, WORKER_HEADER, String(index)));

function listen(): Listener {
  try {
    return Listener.start(named, serveSettings(config), tlsFiles(config), logger, true);
  } catch (error) {
    // Main claimed the port first; what is left to fail here is TLS files, or a port taken between the two.
    throw new Error(error instanceof ConfigError ? error.message : bindFailure(error, config.host, config.port));
  }
}
link.serve((silence) => endHub(config.logLevel, "the main thread", { seenBy: index, silentMs: silence.silentMs }));
const listener = listen();
channel.handle("reload", () => listener.reload());
let draining: Promise<void> | undefined;
channel.handle("halt", () => {
  listener.closeConnections();
  draining = hub.drain();
  return null;
});
channel.handle("settle", async () => {
  await draining;
  await listener.settle(performance.now() + 2500);
  return null;
});
channel.handle("drain", async () => {
  await listener.stop();
  await log.close();
  return null;
});
channel.notify("listening", listener.certificate);
