/**
 * A database file corrupted on disk (pages overwritten while Herald was stopped): it still opens, but reads
 * that reach the damage fail. They must answer 503 log_unavailable, not 500, and since corruption does not
 * heal, the hub stays degraded, refusing writes, until it is repaired.
 */
import { afterAll, expect, test } from "bun:test";
import { closeSync, openSync, statSync, writeSync } from "node:fs";
import { health, logged, metric, post } from "./support/faults";
import { dispose, startHerald } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";

const PAGE = 4096;
const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanup) await c();
});

test("a corrupt database: reads answer 503 log_unavailable, writes are refused, /health stays degraded", async () => {
  const h = await startHerald();
  for (let i = 0; i < 20; i++) {
    const batch = Array.from({ length: 100 }, (_, j) => `${i}-${j}-${"x".repeat(200)}`);
    expect((await post(h, undefined, batch)).status).toBe(201);
  }
  expect(await h.stop()).toBe(0);

  // The middle fifth of the file: table and index pages of the events, far from the schema on page 1.
  const pages = Math.floor(statSync(h.db).size / PAGE);
  const fd = openSync(h.db, "r+");
  for (let p = Math.floor(pages * 0.4); p < Math.floor(pages * 0.6); p++) {
    writeSync(fd, crypto.getRandomValues(new Uint8Array(PAGE)), 0, PAGE, p * PAGE);
  }
  closeSync(fd);

  const again = await startHerald({ dir: h.dir, env: { HERALD_HEARTBEAT_MS: "200" } });
  cleanup.push(() => dispose(again));
  const read = await fetch(`${again.url}/events?topic=batch&limit=1000&after=0`);
  expect(read.status).toBe(503);
  expect(((await read.json()) as { error: { code: string } }).error.code).toBe("log_unavailable");
  const refused = await post(again, "batch", "more");
  expect([refused.status, refused.body.error?.code]).toEqual([503, "log_unavailable"]);
  expect(refused.body.error?.message).toContain("corrupt");

  // The probe runs meanwhile (heartbeats on a stream mark the time passing), and does not call it healed.
  const stream = await SseReader.open(streamUrl(again.url, ["quiet"]));
  await stream.until((r) => r.comments.length >= 8);
  stream.close();
  const { status, body } = await health(again);
  expect([status, body.status, body.reason]).toEqual([503, "degraded", "log_unavailable"]);
  expect(body.message).toContain("corrupt");
  expect(await metric(again, 'herald_log_faults_total{reason="log_unavailable"}')).toBe(1);
  expect(logged(again, "log fault started")).toHaveLength(1);
  expect(logged(again, "log fault cleared")).toHaveLength(0);
  expect(logged(again, "unhandled error")).toHaveLength(0);
}, 30_000);
