/**
 * A worker's end of the line to the main thread, as its log: joins, then takes every commit the writer
 * announces (telling it once they are handed to its streams) and the writer's status; appends, resumes and
 * retention's deletes go the other way. It also keeps the count of the hub's streams the main thread tells.
 */
import type { LogReads } from "../log/event-log";
import type { LogFault } from "../log/faults";
import { WorkerLog } from "../log/worker-log";
import type { Channel } from "./channel";
import type { FromWorker, ToWorker } from "./protocol";

export type OpenReads = (head: () => number, onFault: (fault: LogFault) => void) => LogReads;

export interface Link {
  readonly log: WorkerLog;
  /** Streams open on every worker, as last told. */
  subscribers(): number;
}

export async function joinWriter(channel: Channel<FromWorker, ToWorker>, openReads: OpenReads): Promise<Link> {
  const joined = await channel.request("join", null);
  let subscribers = joined.subscribers;
  channel.on("subscribers", (count) => {
    subscribers = count;
  });
  const log = new WorkerLog(
    {
      append: (drafts, idempotency) => channel.request("append", { drafts, idempotency }),
      caughtUp: async (id) => {
        await channel.request("caughtUp", id);
      },
      prune: (policy) => channel.request("prune", policy),
      degrade: (fault) => channel.notify("fault", fault),
    },
    joined.head,
    joined.status,
    openReads,
  );
  channel.on("commit", (batch) => {
    log.announce(JSON.parse(batch));
    channel.notify("applied", log.lastId());
  });
  channel.on("status", (status) => log.update(status));
  channel.handle("missed", async () => {
    await log.missed();
    return null;
  });
  return { log, subscribers: () => subscribers };
}
