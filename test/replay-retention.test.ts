/** Retention while a replay waits for its reader: what it deletes is announced, never skipped silently. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { dispose, type Herald, publishBatch, startHerald } from "./support/herald";
import { RawSseClient, type SseEvent } from "./support/sse";
import { eventually } from "./support/wait";

let herald: Herald;
const KEEP = 10_000;
const payload = "r".repeat(4000);

beforeAll(async () => {
  herald = await startHerald({ env: { HERALD_RETENTION_MAX_EVENTS: String(KEEP), HERALD_SYNC: "normal" } });
});
afterAll(() => dispose(herald));

async function publishMany(count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += 500) {
    const events = Array.from({ length: 500 }, () => ({ topic: "t", data: payload }));
    await publishBatch(herald.url, events);
  }
}

async function firstRetained(): Promise<number> {
  const { topics } = (await (await fetch(`${herald.url}/topics`)).json()) as { topics: Array<{ firstId: string }> };
  return Number(topics[0]?.firstId);
}

/** Every jump in the ids must follow a gap notice naming the id before it and reaching past the ids skipped. */
function silentSkips(events: readonly SseEvent[]): string[] {
  const skips: string[] = [];
  let last = 1;
  let announced: { lastEventId: number; prunedThrough: number } | undefined;
  for (const e of events) {
    if (e.event === "herald.gap") {
      const notice = JSON.parse(e.data) as { lastEventId: string; prunedThrough: string };
      announced = { lastEventId: Number(notice.lastEventId), prunedThrough: Number(notice.prunedThrough) };
      continue;
    }
    const id = Number(e.id);
    const covered = announced !== undefined && announced.lastEventId === last && announced.prunedThrough >= id - 1;
    if (id !== last + 1 && !covered) skips.push(`${last} → ${id}`);
    last = id;
    announced = undefined;
  }
  return skips;
}

test("events pruned while a replay waits for a stalled reader come with a gap notice, before the next event sent", async () => {
  await publishMany(KEEP);
  // ~40 MB to replay; the reader stops after ~50 KB, so the hub stalls far short of the ids about to be pruned.
  const client = await RawSseClient.open(herald.port, "/stream?topic=t&lastEventId=1", { keepData: false, pauseAfter: 50_000 });
  await client.until((c) => c.events.length > 0);
  await publishMany(5_000);
  await eventually(async () => (await firstRetained()) === 5_001, 15_000);

  client.resume();
  await client.until((c) => c.ids().at(-1) === 15_000, 30_000);
  const gaps = client.events.filter((e) => e.event === "herald.gap");
  // The scenario happened: the replay had not reached the pruned ids when it stalled.
  expect(gaps).toHaveLength(1);
  expect(JSON.parse(gaps[0]?.data ?? "")).toMatchObject({ prunedThrough: "5000" });
  expect(silentSkips(client.events)).toEqual([]);
  const ids = client.ids();
  expect(ids.slice(ids.indexOf(5_001))).toEqual(Array.from({ length: 10_000 }, (_, i) => 5_001 + i));
  client.close();
}, 90_000);
