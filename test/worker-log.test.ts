/**
 * A worker's log against the main thread's, in one process: the coordinator and a WorkerLog on the two ends of a
 * MessageChannel (the very messages threads exchange), over a real SQLite file. It keeps the EventLog contract,
 * and the two promises that make threads invisible: a publisher is answered once every serving worker has the
 * commit, and a resume from an id a worker has yet to be handed waits for it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { renameSync } from "node:fs";
import { join } from "node:path";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import type { EventDraft } from "../src/log/event-log";
import { SqliteReads } from "../src/log/sqlite/reads";
import { SqliteEventLog } from "../src/log/sqlite/sqlite-log";
import type { WorkerLog } from "../src/log/worker-log";
import { createLogger } from "../src/logger";
import { Metrics } from "../src/metrics";
import { Channel } from "../src/workers/channel";
import { Coordinator } from "../src/workers/coordinator";
import { joinWriter } from "../src/workers/link";
import { PresenceRelay } from "../src/workers/presence-relay";
import type { FromWorker, ToWorker } from "../src/workers/protocol";
import { HeldPort } from "./support/held-port";
import { removeDir, tempDir } from "./support/herald";
import { logContract } from "./support/log-contract";

const quiet = createLogger("error");
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) removeDir(dir);
});

interface Linked {
  readonly log: WorkerLog;
  readonly held: HeldPort;
  /** From now on publishers wait for this worker to take each commit. */
  serve(): void;
  /** The worker is gone, as the main thread learns when its thread exits. */
  gone(): void;
}

/** A writer on a fresh SQLite file, and `link()` seats one more worker's log on it. */
function writerOn(path: string) {
  const writer = SqliteEventLog.open(path, "normal", quiet);
  const coordinator = new Coordinator(
    writer,
    { maxSubscribers: 100, maxStreamsPerClient: 0, workerHung: () => {} },
    new Metrics(false),
    new PresenceRelay(undefined),
  );
  const ports: MessagePort[] = [];
  let seats = 0;
  return {
    writer,
    async link(): Promise<Linked> {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1, port2);
      const held = new HeldPort(port1);
      const index = ++seats;
      const seat = coordinator.seat(index, held);
      const channel = new Channel<FromWorker, ToWorker>(port2);
      const link = await joinWriter(channel, index, (head, onFault) => new SqliteReads(path, head, onFault));
      return { log: link.log, held, serve: () => link.serve(() => {}), gone: () => coordinator.unseat(seat) };
    },
    async close(): Promise<void> {
      coordinator.stop();
      for (const port of ports) port.close();
      await writer.close();
    },
  };
}

function freshPath(): string {
  const dir = tempDir();
  dirs.push(dir);
  return join(dir, "herald.db");
}

logContract("sqlite, through a worker's log", async () => {
  const path = freshPath();
  const writer = writerOn(path);
  const { log } = await writer.link();
  return {
    log,
    breakStore: async () => renameSync(path, `${path}.away`),
    mendStore: async () => renameSync(`${path}.away`, path),
    close: async () => {
      await log.close();
      await writer.close();
    },
  };
});

const draft = (topic: string): EventDraft => ({ topic, event: null, data: '"x"' });

/** Two serving workers, the second holding what the writer sends it, and a publish on the first. */
async function publishBehindHeldWorker(writer: ReturnType<typeof writerOn>, topic: string) {
  const [a, b] = [await writer.link(), await writer.link()];
  a.serve();
  b.serve();
  b.held.hold();
  const appended = a.log.append([draft(topic)]);
  /** Whether the publish is answered within 100 ms. */
  const answered = () => Promise.race([appended.then(() => true), Bun.sleep(100).then(() => false)]);
  return { held: b, appended, answered };
}

describe("a worker that is slow to take commits", () => {
  test("holds the answer to a publish on another worker until it has the commit too", async () => {
    const writer = writerOn(freshPath());
    try {
      const { held, appended, answered } = await publishBehindHeldWorker(writer, "slow");
      expect(await answered()).toBe(false);
      expect(held.log.lastId()).toBe(0);
      held.held.release();
      expect((await appended).receipts[0]?.id).toBe(1);
      expect(held.log.lastId()).toBe(1);
    } finally {
      await writer.close();
    }
  });

  test("no longer holds it once it is gone: the publisher is answered at once", async () => {
    const writer = writerOn(freshPath());
    try {
      const { held, appended, answered } = await publishBehindHeldWorker(writer, "gone");
      expect(await answered()).toBe(false);
      held.gone();
      expect(await answered()).toBe(true);
      expect((await appended).receipts[0]?.id).toBe(1);
    } finally {
      await writer.close();
    }
  });

  test("a resume from an id it has not been handed yet waits until it has been", async () => {
    const writer = writerOn(freshPath());
    try {
      const [a, b] = [await writer.link(), await writer.link()];
      a.serve();
      // Not serving yet: publishers do not wait for it, and it trails the writer.
      b.held.hold();
      const id = (await a.log.append([draft("behind")])).receipts[0]?.id as number;
      expect(b.log.lastId()).toBe(0);
      let caughtUp = false;
      const waiting = b.log.caughtUp(id).then(() => {
        caughtUp = true;
      });
      await Bun.sleep(100);
      expect(caughtUp).toBe(false);
      b.held.release();
      await waiting;
      expect(b.log.lastId()).toBe(id);
      // An id from the future (a restored backup) is answered at once with what there is.
      await b.log.caughtUp(id + 100);
      expect(b.log.lastId()).toBe(id);
    } finally {
      await writer.close();
    }
  });
});
