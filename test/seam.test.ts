/** The replay→live seam under load: no gap and no duplicate while publishers run at full speed. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { dispose, type Herald, startHerald } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";

let herald: Herald;
beforeAll(async () => {
  herald = await startHerald();
});
afterAll(() => dispose(herald));

const PUBLISHERS = 4;
const PER_PUBLISHER = 1500;
const SUBSCRIBERS = 20;

async function runPublisher(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < PER_PUBLISHER; i += 10) {
    // Mix single and batch publishes on two topics so the stream sees interleaved commits.
    if (i % 20 === 0) {
      const events = Array.from({ length: 10 }, (_, k) => ({ topic: `seam.${(i + k) % 2}`, data: `${n}:${i + k}` }));
      const res = await fetch(`${herald.url}/events`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ events }),
      });
      for (const e of ((await res.json()) as { events: Array<{ id: string }> }).events) ids.push(e.id);
    } else {
      const posts = Array.from({ length: 10 }, (_, k) =>
        fetch(`${herald.url}/topics/seam.${(i + k) % 2}/events`, { method: "POST", body: `${n}:${i + k}` }).then(
          async (r) => ((await r.json()) as { id: string }).id,
        ),
      );
      ids.push(...(await Promise.all(posts)));
    }
  }
  return ids;
}

test("20 subscribers joining at random moments with random Last-Event-IDs each get exactly the contiguous ids after their start", async () => {
  // Enough history that replays span many pages, so live commits land while a replay is under way.
  for (let b = 0; b < 20; b++) {
    const seed = Array.from({ length: 1000 }, (_, i) => ({ topic: `seam.${i % 2}`, data: `seed ${b}.${i}` }));
    await fetch(`${herald.url}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events: seed }),
    });
  }

  const published: string[] = [];
  const publishing = Promise.all(Array.from({ length: PUBLISHERS }, (_, n) => runPublisher(n))).then((lists) => {
    for (const l of lists) published.push(...l);
  });

  const readers: Array<{ reader: SseReader; from: number }> = [];
  for (let s = 0; s < SUBSCRIBERS; s++) {
    await Bun.sleep(Math.random() * 60);
    const head = Number(((await (await fetch(`${herald.url}/health`)).json()) as { lastEventId: string }).lastEventId);
    const from = Math.floor(Math.random() * head);
    const reader = await SseReader.open(streamUrl(herald.url, ["seam.*"]), { "Last-Event-ID": String(from) });
    readers.push({ reader, from });
  }
  await publishing;
  const last = Math.max(...published.map(Number));

  for (const { reader, from } of readers) {
    await reader.until((r) => Number(r.events[r.events.length - 1]?.id ?? 0) >= last, 15_000);
    const ids = reader.ids();
    const expected = Array.from({ length: last - from }, (_, i) => from + 1 + i);
    expect(ids).toEqual(expected);
    reader.close();
  }
  expect(published.length).toBe(PUBLISHERS * PER_PUBLISHER);
}, 60_000);
