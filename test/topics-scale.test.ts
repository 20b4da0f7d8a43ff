/** /topics over a million topics: each page is a short step, and requests beside it are not held. */
import { afterAll, expect, test } from "bun:test";
import { buildTopics } from "./support/bulk-log";
import { dispose, type Herald, removeDir, startHerald, tempDir } from "./support/herald";

const dir = tempDir();
let herald: Herald | undefined;
afterAll(async () => {
  if (herald) await dispose(herald);
  removeDir(dir);
});

test("a million topics (and 200,000 emptied ones before them): every page answers in milliseconds, /health beside it too", async () => {
  buildTopics(dir, "user.", 1_000_000, 200_000);
  herald = await startHerald({ dir });
  const base = herald.url;
  let probing = true;
  const probes: number[] = [];
  const probe = (async () => {
    while (probing) {
      const started = performance.now();
      await fetch(`${base}/health`);
      probes.push(performance.now() - started);
      await Bun.sleep(5);
    }
  })();
  const pages: Array<{ query: string; ms: number; count: number; first?: string; next: string | null }> = [];
  for (const query of ["", "?after=user.5", "?topic=user.77*&limit=1000", "?after=user.999998", "?topic=emptied.*"]) {
    const started = performance.now();
    const res = await fetch(`${base}/topics${query}`);
    const body = (await res.json()) as { topics: Array<{ topic: string }>; next: string | null };
    pages.push({
      query,
      ms: performance.now() - started,
      count: body.topics.length,
      first: body.topics[0]?.topic,
      next: body.next,
    });
  }
  probing = false;
  await probe;
  console.log(
    `topics: ${pages.map((p) => `${p.query || "first"} ${p.ms.toFixed(1)} ms`).join(", ")}; /health max ${Math.max(...probes).toFixed(1)} ms over ${probes.length}`,
  );
  expect(pages.map((p) => [p.query, p.count, p.first, p.next])).toEqual([
    ["", 100, "user.1", "user.100085"],
    ["?after=user.5", 100, "user.50", "user.500087"],
    ["?topic=user.77*&limit=1000", 1000, "user.77", "user.770898"],
    ["?after=user.999998", 1, "user.999999", null],
    ["?topic=emptied.*", 0, undefined, null],
  ]);
  // An unpaged list of a million topics took seconds and held every other request that long.
  for (const p of pages) expect(p.ms).toBeLessThan(250);
  expect(Math.max(...probes)).toBeLessThan(250);
}, 120_000);
