/**
 * The database file moved or replaced under a running hub. SQLite would go on writing to the file it has
 * open, which no one reads again: writes must be refused, and resume only when the original is back.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { renameSync } from "node:fs";
import { type Answer, health, history, logged, metric, post } from "./support/faults";
import { dispose, type Herald, removeDir, startHerald } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeDir(d);
});
const ENV = { HERALD_HEARTBEAT_MS: "200" };
const UNAVAILABLE = 'herald_log_faults_total{reason="log_unavailable"}';

async function degradedByItself(h: Herald): Promise<void> {
  // The probe notices with no publish at all.
  await eventually(async () => (await health(h)).status === 503);
  const { body } = await health(h);
  expect(body).toMatchObject({ status: "degraded", reason: "log_unavailable" });
  expect(body.message).toContain("deleted or replaced");
}

function expectRefused(a: Answer): void {
  expect([a.status, a.body.error?.code]).toEqual([503, "log_unavailable"]);
  expect(a.retryAfter).toMatch(/^\d+$/);
}

test("moved away and put back: refused meanwhile, reads go on, resumes by itself, ids continue", async () => {
  const h = await startHerald({ env: ENV });
  dirs.push(h.dir);
  const stream = await SseReader.open(streamUrl(h.url, ["moved"]));
  const acked: Array<[string, unknown]> = [];
  for (const data of ["a", "b"]) acked.push([(await post(h, "moved", data)).body.id as string, data]);

  for (const suffix of ["", "-wal"]) renameSync(`${h.db}${suffix}`, `${h.db}${suffix}.away`);
  // At once, before the probe looks: the commit itself checks the files, and rolls back.
  expectRefused(await post(h, "moved", "lost?"));
  await degradedByItself(h);
  expectRefused(await post(h, undefined, [1, 2]));
  expect(await metric(h, UNAVAILABLE)).toBe(1);
  expect(await history(h, "moved")).toEqual(acked);
  await stream.count(2);
  const beats = stream.comments.length;
  await stream.until((r) => r.comments.length >= beats + 2);

  for (const suffix of ["", "-wal"]) renameSync(`${h.db}${suffix}.away`, `${h.db}${suffix}`);
  await eventually(async () => (await health(h)).status === 200);
  const c = await post(h, "moved", "c");
  expect([c.status, Number(c.body.id)]).toEqual([201, Number(acked[1]?.[0]) + 1]);
  acked.push([c.body.id as string, "c"]);
  await stream.count(3);
  expect(stream.ids()).toEqual(acked.map(([id]) => Number(id)));
  stream.close();
  expect(logged(h, "log fault started")).toHaveLength(1);
  expect(logged(h, "log fault cleared")).toHaveLength(1);

  expect(await h.stop()).toBe(0);
  const again = await startHerald({ dir: h.dir });
  expect(await history(again, "moved")).toEqual(acked);
  await again.stop();
}, 30_000);

test("replaced by a backup: nothing is acknowledged into the file no one will read; a restart opens the backup", async () => {
  const h = await startHerald({ env: ENV });
  dirs.push(h.dir);
  const a = await post(h, "replaced", "a");
  const backup = `${h.dir}/backup.db`;
  const reader = new Database(h.db);
  reader.run(`VACUUM INTO '${backup}'`);
  reader.close();
  expect((await post(h, "replaced", "b")).status).toBe(201);

  renameSync(backup, h.db);
  expectRefused(await post(h, "replaced", "c"));
  await degradedByItself(h);
  const { body } = await health(h);
  expect(body.message).toContain("restart");

  expect(await h.stop()).toBe(0);
  const again = await startHerald({ dir: h.dir });
  // The operator chose the backup: "b" went with the old file; "c" was never acknowledged, so nothing is lost.
  expect(await history(again, "replaced")).toEqual([[a.body.id as string, "a"]]);
  expect((await health(again)).status).toBe(200);
  await dispose(again);
}, 30_000);
