/**
 * Presence across worker threads, in one process: the coordinator (with its presence relay) and each worker's
 * registry on the two ends of a MessageChannel, the very messages threads exchange. A stream opened on one worker
 * is listed on every other once it settles, a worker that joins later is told every stream, and a worker that
 * dies has its streams closed everywhere else.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { Presence, type PresenceEntry, streamId } from "../src/hub/presence";
import { sharePresence } from "../src/hub/presence-sharing";
import { SqliteEventLog } from "../src/log/sqlite/sqlite-log";
import { createLogger } from "../src/logger";
import { Metrics } from "../src/metrics";
import { parseSelectors } from "../src/names";
import { Channel } from "../src/workers/channel";
import { Coordinator, type Seat } from "../src/workers/coordinator";
import { WorkerPresence } from "../src/workers/presence-link";
import { PresenceRelay } from "../src/workers/presence-relay";
import type { FromWorker, ToWorker } from "../src/workers/protocol";
import { HeldPort } from "./support/held-port";
import { removeDir, tempDir } from "./support/herald";
import { eventually } from "./support/wait";

const quiet = createLogger("error");
const dir = tempDir();
afterAll(() => removeDir(dir));

interface Worker {
  readonly presence: Presence;
  readonly seat: Seat;
  /** The main thread's messages to it, which the test may hold back. */
  readonly held: HeldPort;
  /** What its registry heard, in order: `+id` opened, `-id` closed. */
  readonly heard: string[];
  /** Opens a stream of its own on `selectors`: the entry, and what closes it. */
  open(selectors: string[], subject?: string): { entry: PresenceEntry; close(): void };
}

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** A coordinator over a fresh SQLite file, and `seat()` starts one more worker's presence on it. */
function coordinatorOn(name: string) {
  const log = SqliteEventLog.open(join(dir, `${name}.db`), "normal", quiet);
  const relay = new PresenceRelay(undefined);
  const coordinator = new Coordinator(
    log,
    { maxSubscribers: 100, maxStreamsPerClient: 0, workerHung: () => {} },
    new Metrics(false),
    relay,
  );
  const ports: MessagePort[] = [];
  cleanups.push(async () => {
    coordinator.stop();
    for (const port of ports) port.close();
    await log.close();
  });
  let seats = 0;
  return {
    relay,
    coordinator,
    async seat(): Promise<Worker> {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1, port2);
      const index = ++seats;
      const held = new HeldPort(port1);
      const seat = coordinator.seat(index, held);
      const presence = new Presence();
      const heard: string[] = [];
      presence.onChange((entry, active) => heard.push(`${active ? "+" : "-"}${entry.id}`));
      const channel = new Channel<FromWorker, ToWorker>(port2);
      await sharePresence(presence, new WorkerPresence(channel, index), (s) => parseSelectors(s.selectors), quiet);
      return {
        presence,
        seat,
        held,
        heard,
        open(selectors, subject) {
          const since = Date.now();
          const entry: PresenceEntry = {
            id: streamId(since),
            selectors: parseSelectors(selectors),
            since,
            subject: subject ?? null,
            payload: { p: 1 },
          };
          presence.opened(entry);
          return { entry, close: () => presence.closed(entry) };
        },
      };
    },
  };
}

const listed = (presence: Presence, selector: string) =>
  presence.page({ selectors: parseSelectors([selector]), after: "", limit: 100 }).entries;

describe("presence across workers", () => {
  test("a stream opened on one worker is listed and counted on the other once it settles, and leaves it once closed", async () => {
    const hub = coordinatorOn("settle");
    const [a, b] = [await hub.seat(), await hub.seat()];
    const { entry, close } = a.open(["orders.*"], "alice");
    await b.presence.settled();
    const [seen] = listed(b.presence, "orders.eu");
    expect(seen).toMatchObject({ id: entry.id, subject: "alice", payload: { p: 1 }, since: entry.since });
    expect(seen?.selectors.map((s) => s.text)).toEqual(["orders.*"]);
    expect(seen?.node).toBeDefined();
    expect(b.presence.count("orders.eu")).toBe(1);
    expect(hub.relay.size).toBe(1);
    close();
    await b.presence.settled();
    expect(listed(b.presence, "orders.eu")).toEqual([]);
    expect(b.heard).toEqual([`+${entry.id}`, `-${entry.id}`]);
    expect(hub.relay.size).toBe(0);
  });

  test("a worker that has heard every change answers at once; one that has not waits until it has", async () => {
    const hub = coordinatorOn("tally");
    const [a, b] = [await hub.seat(), await hub.seat()];
    const first = a.open(["t"]).entry.id;
    await b.presence.settled();
    // Nothing from the main thread reaches b now: settling cannot ask it, and need not.
    b.held.hold();
    await b.presence.settled();
    const second = a.open(["t"]).entry.id;
    let settled = false;
    const settling = b.presence.settled().then(() => {
      settled = true;
    });
    await Bun.sleep(100);
    expect(settled).toBe(false);
    expect(listed(b.presence, "t").map((e) => e.id)).toEqual([first]);
    b.held.release();
    await settling;
    expect(listed(b.presence, "t").map((e) => e.id)).toEqual([first, second].sort());
  });

  test("a worker that joins later (a replacement) lists every stream the others hold", async () => {
    const hub = coordinatorOn("join");
    const a = await hub.seat();
    const ids = [a.open(["x"]).entry.id, a.open(["y"]).entry.id];
    await a.presence.settled();
    const late = await hub.seat();
    expect(listed(late.presence, "*").map((e) => e.id)).toEqual(ids.sort());
    // And its own streams reach the first.
    const own = late.open(["z"]).entry.id;
    await a.presence.settled();
    expect(listed(a.presence, "*").map((e) => e.id)).toEqual([...ids, own].sort());
  });

  test("a worker that dies has its streams closed on every other worker, and nothing of it is told afterwards", async () => {
    const hub = coordinatorOn("dies");
    const [a, b, c] = [await hub.seat(), await hub.seat(), await hub.seat()];
    const doomed = [a.open(["d"]).entry.id, a.open(["d"]).entry.id];
    const kept = b.open(["d"]).entry.id;
    await c.presence.settled();
    expect(c.presence.count("d")).toBe(3);
    hub.coordinator.unseat(a.seat);
    // Told by the main thread as it sees the worker go: no client of the other workers waits on it.
    await eventually(() => c.presence.count("d") === 1 && b.presence.count("d") === 1);
    expect(listed(c.presence, "d").map((e) => e.id)).toEqual([kept]);
    expect(listed(b.presence, "d").map((e) => e.id)).toEqual([kept]);
    expect(c.heard.filter((h) => h.startsWith("-")).sort()).toEqual(doomed.map((id) => `-${id}`).sort());
    expect(hub.relay.size).toBe(1);
  });
});
