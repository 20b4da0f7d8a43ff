/**
 * A worker's end of the line to the main thread, as its log: joins, then takes every commit the writer
 * announces (marking it on the shared board once it is handed to its streams) and the writer's status;
 * appends, resumes and retention's deletes go the other way. A publish is answered once every serving worker
 * has the commit. It also counts this worker's streams on the board, where every worker reads the hub's.
 */
import type { LogReads } from "../log/event-log";
import type { LogFault } from "../log/faults";
import { WorkerLog } from "../log/worker-log";
import { Board } from "./board";
import type { Channel } from "./channel";
import type { FromWorker, ToWorker } from "./protocol";
import { beatAndWatch, type Silence, WRITER_SLOT } from "./watchdog";

export type OpenReads = (head: () => number, onFault: (fault: LogFault) => void) => LogReads;

export interface Link {
  readonly log: WorkerLog;
  /** Streams open on every worker, now. */
  subscribers(): number;
  /** A stream opens on this worker: the function returned counts it out, once. */
  countStream(): () => void;
  /**
   * From now on publishers on every worker wait for this one to take each commit, and it beats on the board for
   * the main thread's watchdog and watches the main thread's beats: call it just before it listens.
   * @param writerHung called once the main thread has not beaten for the watchdog's limit
   */
  serve(writerHung: (silence: Silence) => void): void;
}

/** @param index this worker's number, its slot on the board */
export async function joinWriter(channel: Channel<FromWorker, ToWorker>, index: number, openReads: OpenReads): Promise<Link> {
  const joined = await channel.request("join", null);
  const board = new Board(joined.board);
  const log = new WorkerLog(
    {
      append: async (drafts, idempotency) => {
        const result = await channel.request("append", { drafts, idempotency });
        // A stream open on any worker before the answer gets the event; a read on any worker after it finds it.
        await board.everyoneHas(Math.max(0, ...result.receipts.map((r) => r.id)));
        return result;
      },
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
    board.apply(index, log.lastId());
  });
  channel.on("status", (status) => log.update(status));
  channel.handle("missed", async () => {
    await log.missed();
    return null;
  });
  return {
    log,
    subscribers: () => board.streamCount(),
    countStream: () => board.countStream(index),
    serve: (writerHung) => {
      board.serve(index, true);
      beatAndWatch(board, index, () => [WRITER_SLOT], writerHung);
    },
  };
}
