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

/**
 * What the gap notices of a stream resumed from `resumedFrom` get wrong. Each notice must name the last id sent,
 * announce deletions no earlier one did, and come before an event (never two before the same one); every jump in
 * the ids must come after a notice reaching past the ids skipped. That notice may come before events read before
 * the deletion it announces (a replay checks for deletions after reading its page): the jump follows them.
 */
function noticeFaults(events: readonly SseEvent[], resumedFrom: number): string[] {
  const faults: string[] = [];
  let last = resumedFrom;
  let announced = 0;
  let noticeLast = false;
  for (const e of events) {
    if (e.event === "herald.gap") {
      const notice = JSON.parse(e.data) as { lastEventId: string; prunedThrough: string };
      if (noticeLast) faults.push(`a second notice after ${last}: ${e.data}`);
      if (notice.lastEventId !== String(last)) faults.push(`a notice naming ${notice.lastEventId} after ${last}`);
      if (Number(notice.prunedThrough) <= announced) faults.push(`a notice of nothing new after ${last}: ${e.data}`);
      announced = Math.max(announced, Number(notice.prunedThrough));
      noticeLast = true;
      continue;
    }
    const id = Number(e.id);
    if (id !== last + 1 && announced < id - 1) faults.push(`${last} → ${id} unannounced`);
    last = id;
    noticeLast = false;
  }
  return faults;
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
  expect(noticeFaults(client.events, 1)).toEqual([]);
  // The scenario happened: the replay had not reached the pruned ids when it stalled. The reader stops reading,
  // but the hub goes on filling the socket's buffers for a while, and retention may overtake the replay before it
  // stalls: an earlier notice then announces that part, and the last one what was pruned while it waited.
  const gaps = client.events.filter((e) => e.event === "herald.gap");
  expect(JSON.parse(gaps.at(-1)?.data ?? "{}")).toMatchObject({ prunedThrough: "5000" });
  const ids = client.ids();
  expect(ids.slice(ids.indexOf(5_001))).toEqual(Array.from({ length: 10_000 }, (_, i) => 5_001 + i));
  client.close();
}, 90_000);
