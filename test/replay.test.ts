/** Replay is paged and follows the reader's pace: a huge catch-up holds bounded server memory. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { dispose, type Herald, publishBatch, startHerald } from "./support/herald";
import { rawStream } from "./support/sse";
import { eventually } from "./support/wait";

let herald: Herald;
const EVENTS = 100_000;
const REPLAY_ALL = "/stream?topic=replay.*&lastEventId=0";

beforeAll(async () => {
  herald = await startHerald({ env: { HERALD_SYNC: "normal" } });
  const payload = "p".repeat(100);
  for (let b = 0; b < EVENTS / 1000; b++) {
    const events = Array.from({ length: 1000 }, (_, i) => ({ topic: `replay.${i % 4}`, data: `${b * 1000 + i} ${payload}` }));
    await publishBatch(herald.url, events);
  }
}, 60_000);
afterAll(() => dispose(herald));

test("a replay of 100k events to a reader that pauses holds bounded memory, then completes in order", async () => {
  const rssBefore = herald.rss();
  let paused = true;
  let text = "";
  let seen = 0;
  let lastId = 0;
  let inOrder = true;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  const socket = await rawStream(herald.port, REPLAY_ALL, (chunk, s) => {
    if (paused) s.pause();
    text += chunk.toString();
    const cut = text.lastIndexOf("\n");
    for (const m of text.slice(0, cut).matchAll(/^id: (\d+)$/gm)) {
      const id = Number(m[1]);
      if (id !== lastId + 1) inOrder = false;
      lastId = id;
      seen++;
    }
    text = text.slice(cut + 1);
    if (seen === EVENTS) done();
  });
  await Bun.sleep(1000);
  // ~13 MB of events are waiting; the server must not have read them all into memory.
  const grown = herald.rss() - rssBefore;
  expect(grown).toBeLessThan(20 * 1024 * 1024);
  paused = false;
  socket.resume();
  await finished;
  expect(inOrder).toBe(true);
  expect(lastId).toBe(EVENTS);
  socket.end();
}, 60_000);

test("a client that leaves in the middle of a backpressured replay is forgotten within 1 s", async () => {
  const subscribers = async () => ((await (await fetch(`${herald.url}/health`)).json()) as { subscribers: number }).subscribers;
  const socket = await rawStream(herald.port, REPLAY_ALL, (_, s) => s.pause());
  await eventually(async () => (await subscribers()) === 1);
  await Bun.sleep(300);
  socket.terminate();
  const left = Date.now();
  await eventually(async () => (await subscribers()) === 0, 1000);
  expect(Date.now() - left).toBeLessThan(1000);
});
