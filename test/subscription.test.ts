/**
 * The replay→live seam, in process: a real SQLite log whose reads take a few milliseconds, as a
 * networked log's would, so commits land while replays are under way and live events must be held.
 */
import { afterAll, expect, test } from "bun:test";
import { Hub } from "../src/hub/hub";
import type { EventLog, ReadRange } from "../src/log/event-log";
import { SqliteEventLog } from "../src/log/sqlite/sqlite-log";
import { createLogger } from "../src/logger";
import { Metrics } from "../src/metrics";
import { parseSelectors } from "../src/names";
import { removeDir, tempDir } from "./support/herald";

const dir = tempDir();
afterAll(() => removeDir(dir));

class SlowReads extends SqliteEventLog {
  override async read(range: ReadRange) {
    await Bun.sleep(3);
    return super.read(range);
  }
  override async readFramed(range: ReadRange, idPrefix: string) {
    await Bun.sleep(3);
    return super.readFramed(range, idPrefix);
  }
}

/** Reads a subscription's stream until the END event, returning every id before it in order. */
async function collectIds(stream: ReadableStream<Uint8Array>): Promise<number[]> {
  const ids: number[] = [];
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    rest += decoder.decode(chunk, { stream: true });
    const cut = rest.lastIndexOf("\n");
    const complete = rest.slice(0, cut);
    for (const m of complete.matchAll(/^id: (\d+)$/gm)) ids.push(Number(m[1]));
    rest = rest.slice(cut + 1);
    if (complete.includes("data: END\n")) return ids.slice(0, -1);
  }
  return ids;
}

/** Where events go: the topic of the k-th of a batch, the selector that reads them all, and the END event's topic. */
interface Topics {
  readonly of: (k: number) => string;
  readonly selector: string;
  readonly end: string;
}

const THREE_TOPICS: Topics = { of: (k) => `t.${k % 3}`, selector: "t.*", end: "t.end" };
/** Pages of one exact topic's native events come framed by the log. */
const ONE_TOPIC: Topics = { of: () => "t", selector: "t", end: "t" };

async function seamRun(log: EventLog, budgetBytes: number, topics = THREE_TOPICS): Promise<void> {
  const hub = new Hub(
    log,
    { retryMs: 1000, heartbeatMs: 60_000, subscriberBufferBytes: budgetBytes, maxSubscribers: 100 },
    createLogger("error"),
    new Metrics(),
  );
  for (let b = 0; b < 10; b++) {
    await hub.publish(Array.from({ length: 1000 }, (_, i) => ({ topic: topics.of(i), event: null, data: `"seed ${b}.${i}"` })));
  }
  const TOTAL = 4000;
  let published = 0;
  const publishers = Array.from({ length: 4 }, async (_, p) => {
    while (published < TOTAL) {
      published += 10;
      await Promise.all(
        Array.from({ length: 10 }, (_, k) => hub.publish([{ topic: topics.of(k), event: null, data: `"${p}"` }])),
      );
    }
  });
  const subs: Array<{ from: number; ids: Promise<number[]> }> = [];
  for (let s = 0; s < 20; s++) {
    await Bun.sleep(Math.random() * 5);
    const from = Math.floor(Math.random() * log.lastId());
    const sub = hub.open({
      selectors: parseSelectors([topics.selector]),
      form: "data",
      resumeFrom: { value: from, text: String(from) },
      signal: new AbortController().signal,
    });
    subs.push({ from, ids: collectIds(sub.stream) });
  }
  await Promise.all(publishers);
  const last = log.lastId();
  await hub.publish([{ topic: topics.end, event: null, data: '"END"' }]);
  for (const { from, ids } of subs) {
    const got = await ids;
    expect(got.length).toBe(last - from);
    expect(got).toEqual(Array.from({ length: last - from }, (_, i) => from + 1 + i));
  }
  await hub.drain();
}

test("20 subscriptions with random resume points while 4 publishers run: contiguous ids, no duplicate", async () => {
  const log = new SlowReads(`${dir}/seam.db`, "normal");
  await seamRun(log, 4 * 1024 * 1024);
  await log.close();
}, 30_000);

test("the same on one exact topic, whose pages the log frames: contiguous ids, no duplicate, with and without overflow", async () => {
  for (const budget of [4 * 1024 * 1024, 16 * 1024]) {
    const log = new SlowReads(`${dir}/seam-framed-${budget}.db`, "normal");
    await seamRun(log, budget, ONE_TOPIC);
    await log.close();
  }
}, 30_000);

test("live events overflowing a small budget during replay are dropped and replayed from the log instead", async () => {
  const log = new SlowReads(`${dir}/overflow.db`, "normal");
  await seamRun(log, 16 * 1024);
  await log.close();
}, 30_000);

/** Prunes every event right after the first read returns: the replay's next gap check finds them gone. */
class PrunedDuringReplay extends SqliteEventLog {
  private reads = 0;
  override async read(range: ReadRange) {
    return this.prunedAfter(await super.read(range));
  }
  // Pages without an envelope come framed by the log.
  override async readFramed(range: ReadRange, idPrefix: string) {
    return this.prunedAfter(await super.readFramed(range, idPrefix));
  }
  private async prunedAfter<T>(page: T): Promise<T> {
    if (++this.reads === 1) await this.prune({ before: Date.now() + 1, maxPerTopic: 0, limit: 1000 });
    return page;
  }
}

test("where a native stream announces events pruned mid-replay, one that ends on a gap ends instead, sending nothing", async () => {
  const texts: Record<string, string> = {};
  for (const endsOnGap of [false, true]) {
    const log = new PrunedDuringReplay(`${dir}/pruned-${endsOnGap}.db`, "normal");
    const hub = new Hub(
      log,
      { retryMs: 1000, heartbeatMs: 60_000, subscriberBufferBytes: 1024 * 1024, maxSubscribers: 10 },
      createLogger("error"),
      new Metrics(),
    );
    await hub.publish(Array.from({ length: 10 }, (_, i) => ({ topic: "t", event: null, data: `"${i + 1}"` })));
    const abort = new AbortController();
    const sub = hub.open({
      selectors: parseSelectors(["t"]),
      form: endsOnGap ? "mercure" : "data",
      resumeFrom: { value: 2, text: "2" },
      signal: abort.signal,
      endsOnGap,
    });
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of sub.stream) {
      text += decoder.decode(chunk, { stream: true });
      if (endsOnGap === false && text.includes("data: 10\n")) break;
    }
    texts[String(endsOnGap)] = text;
    abort.abort();
    await hub.drain();
    await log.close();
  }
  expect(texts.false).toContain('event: herald.gap\ndata: {"lastEventId":"2","prunedThrough":"10"}\n\n');
  // The stream ended by itself, after its opening bytes only: its client comes back and is told by the headers.
  expect(texts.true).toBe("retry: 1000\n: herald\n\n");
}, 30_000);
