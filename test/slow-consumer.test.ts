/** A reader that stops reading is cut off; everyone else keeps receiving promptly; memory stays bounded. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { dispose, type Herald, publish, publishBatch, startHerald } from "./support/herald";
import { RawSseClient, rawStream, SseReader, streamUrl } from "./support/sse";

let herald: Herald;
const BUDGET = 256 * 1024;

beforeAll(async () => {
  herald = await startHerald({ env: { HERALD_SUBSCRIBER_BUFFER_BYTES: String(BUDGET) } });
});
afterAll(() => dispose(herald));

/** A raw HTTP client that reads the response head, then stops reading from the socket. */
async function stalledReader(path: string): Promise<{ resume: () => void; closed: Promise<void>; received: () => number }> {
  let received = 0;
  let stalled = true;
  let onClose = () => {};
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  const socket = await rawStream(
    herald.port,
    path,
    (chunk, s) => {
      received += chunk.byteLength;
      if (stalled) s.pause();
    },
    () => onClose(),
  );
  return {
    resume: () => {
      stalled = false;
      socket.resume();
    },
    closed,
    received: () => received,
  };
}

test("a stalled reader is cut off at its budget while a normal reader keeps up and memory stays bounded", async () => {
  const stalled = await stalledReader("/stream?topic=firehose");
  const normal = await SseReader.open(streamUrl(herald.url, ["firehose"]));
  await normal.until((r) => r.retry !== undefined);
  await Bun.sleep(100);
  const rssBefore = herald.rss();

  const payload = "x".repeat(4000);
  const latencies: number[] = [];
  const EVENTS = 3000;
  for (let i = 0; i < EVENTS; i += 50) {
    const events = Array.from({ length: 50 }, (_, k) => ({ topic: "firehose", data: { i: i + k, at: Date.now(), payload } }));
    await fetch(`${herald.url}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events }),
    });
  }
  await normal.count(EVENTS, 20_000);
  for (const e of normal.events) latencies.push(Date.now() - (JSON.parse(e.data) as { at: number }).at);

  // 12 MB went to a reader that took almost nothing: it must have been dropped, and logged.
  expect(herald.lines.some((l) => l.includes("slow subscriber dropped"))).toBe(true);
  const health = (await (await fetch(`${herald.url}/health`)).json()) as { subscribers: number };
  expect(health.subscribers).toBe(1);
  expect(normal.ids()).toEqual(Array.from({ length: EVENTS }, (_, i) => (normal.ids()[0] as number) + i));
  expect(herald.rss() - rssBefore).toBeLessThan(64 * 1024 * 1024);
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.floor(latencies.length * 0.99)] as number;
  expect(p99).toBeLessThan(500);

  // Once it reads again, the stalled client finds its connection ended after what the kernel held.
  stalled.resume();
  const ended = await Promise.race([stalled.closed.then(() => true), Bun.sleep(5000).then(() => false)]);
  expect(ended).toBe(true);
  expect(stalled.received()).toBeLessThan(EVENTS * 4000);
  normal.close();
  // The cut is one JSON line on stdout and nothing on stderr (Bun prints a stack trace for `close(error)`).
  const drops = herald.lines.filter((l) => l.includes("slow subscriber dropped"));
  expect(drops).toHaveLength(1);
  expect(JSON.parse(drops[0] as string)).toMatchObject({ level: "warn", selectors: ["firehose"] });
  expect(herald.stderr()).toBe("");
}, 60_000);

test("readers that keep reading are never cut, whatever the size of an event or a batch", async () => {
  const dropsBefore = herald.lines.filter((l) => l.includes("slow subscriber dropped")).length;
  const readers = [
    await SseReader.open(streamUrl(herald.url, ["big"])),
    await SseReader.open(streamUrl(herald.url, ["big"])),
    await RawSseClient.open(herald.port, "/stream?topic=big", { keepData: false }),
  ];
  for (const r of readers) await r.until((x) => x.retry !== undefined);
  const allHave = (n: number) => Promise.all(readers.map((r) => r.count(n, 20_000)));

  // One write of ~5 MB to each stream, 20 times this hub's budget.
  await publishBatch(
    herald.url,
    Array.from({ length: 1000 }, (_, i) => ({ topic: "big", data: `${i} ${"b".repeat(5000)}` })),
  );
  await allHave(1000);
  // Events of 100 KB and more, one at a time.
  for (const size of [100_000, 500_000, 1_000_000]) await publish(herald.url, "big", "e".repeat(size));
  await allHave(1003);
  await publishBatch(
    herald.url,
    Array.from({ length: 1000 }, (_, i) => ({ topic: "big", data: i })),
  );
  await allHave(2003);

  for (const r of readers) {
    expect(r.ended).toBe(false);
    const ids = r.ids();
    expect(ids).toEqual(Array.from({ length: 2003 }, (_, i) => (ids[0] as number) + i));
    r.close();
  }
  expect(herald.lines.filter((l) => l.includes("slow subscriber dropped")).length).toBe(dropsBefore);
}, 60_000);
