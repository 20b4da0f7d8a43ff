/**
 * A full disk, for real: the log on a 4 MiB tmpfs filled by a file beside it. Publishes get 507, reads and
 * streams go on, /health and /metrics tell the truth, the fault is logged once each way, the hub recovers by
 * itself, and every acknowledged event is there exactly once, also after a SIGKILL.
 */
import { afterAll, expect, test } from "bun:test";
import { truncateSync, unlinkSync } from "node:fs";
import { type Answer, expectOneLine, health, history, logged, mercurePost, metric, post, refusal } from "./support/faults";
import { type Herald, startHerald } from "./support/herald";
import { fillUp, mountTmpfs } from "./support/mounts";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

const mount = mountTmpfs("4m");
const herald: Herald[] = [];
afterAll(async () => {
  for (const h of herald) await h.kill();
  mount?.unmount();
});

const ENV = { HERALD_HEARTBEAT_MS: "200" };
const FULL = 'herald_log_faults_total{reason="storage_full"}';

test.skipIf(!mount)(
  "a full disk: 507 with Retry-After, reads and streams go on, recovery by itself, nothing acknowledged lost",
  async () => {
    const dir = mount?.dir as string;
    let h = await startHerald({ dir, env: ENV });
    herald.push(h);
    const stream = await SseReader.open(streamUrl(h.url, ["disk"]));
    const acked: Array<[string, unknown]> = [];
    const record = (a: Answer, data: unknown) => {
      if (a.status === 201) acked.push([a.body.id as string, data]);
    };
    for (let i = 0; i < 5; i++) record(await post(h, "disk", `before-${i}`), `before-${i}`);
    expect(acked).toHaveLength(5);

    // Leave 96 KiB, then race 12 publishers of 32 KiB each: some commits fit, one fails, the rest are refused.
    const filler = fillUp(dir);
    truncateSync(filler, Bun.file(filler).size - 96 * 1024);
    const big = (i: number) => ({ during: i, pad: "x".repeat(32 * 1024) });
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => post(h, "disk", big(i))));
    for (const [i, a] of answers.entries()) record(a, big(i));
    expect(answers.map((a) => a.status).filter((s) => s !== 201 && s !== 507)).toEqual([]);
    const refused = answers.find((a) => a.status === 507);
    expect(refused?.body.error?.code).toBe("storage_full");
    expect(refused?.retryAfter).toMatch(/^\d+$/);

    // Degraded: every kind of write is refused with the same answer; a key used now must not stay behind.
    const writes = [
      await post(h, "disk", "during"),
      await post(h, undefined, [1, 2]),
      await post(h, "disk", "keyed", "k1"),
      await mercurePost(h, "disk", "mercure"),
    ];
    for (const a of writes) {
      expect([a.status, a.body.error?.code, a.retryAfter]).toEqual([507, "storage_full", refused?.retryAfter as string]);
    }
    const degraded = await health(h);
    expect(degraded.status).toBe(503);
    expect(degraded.body).toMatchObject({ status: "degraded", reason: "storage_full" });
    expect(degraded.body.message).toContain("full");
    expect(await metric(h, FULL)).toBe(1);
    expect(await metric(h, "herald_log_degraded")).toBe(1);

    // Reads go on: the stream has every acknowledged event and keeps its heartbeats; history has them all.
    await stream.count(acked.length);
    const beats = stream.comments.length;
    await stream.until((r) => r.comments.length >= beats + 3);
    expect(stream.ids()).toEqual(acked.map(([id]) => Number(id)));
    expect(await history(h, "disk")).toEqual(acked);
    const resumed = await SseReader.open(streamUrl(h.url, ["disk"]), { "Last-Event-ID": "0" });
    await resumed.count(acked.length);
    expect(resumed.ids()).toEqual(acked.map(([id]) => Number(id)));
    resumed.close();

    // Space comes back: the probe notices with no publish at all.
    unlinkSync(filler);
    await eventually(async () => (await health(h)).status === 200);
    expect(await metric(h, "herald_log_degraded")).toBe(0);
    expect(logged(h, "log fault started")).toHaveLength(1);
    expect(logged(h, "log fault cleared")).toHaveLength(1);
    expect(logged(h, "log fault started")[0]).toMatchObject({ level: "error", reason: "storage_full" });

    // The writer is sane after its failed commit: ids continue, the key is free, topic counts are right.
    const lastId = Number(acked[acked.length - 1]?.[0]);
    const after = await post(h, "disk", "after");
    expect([after.status, Number(after.body.id)]).toEqual([201, lastId + 1]);
    record(after, "after");
    const keyed = await post(h, "disk", "keyed", "k1");
    expect(keyed.status).toBe(201);
    record(keyed, "keyed");
    const topics = (await (await fetch(`${h.url}/topics`)).json()) as { topics: Array<{ topic: string; events: number }> };
    expect(topics.topics.find((t) => t.topic === "disk")?.events).toBe(acked.length);
    await stream.count(acked.length);
    expect(stream.ids()).toEqual(acked.map(([id]) => Number(id)));
    stream.close();

    await h.kill();
    h = await startHerald({ dir, env: ENV });
    herald.push(h);
    expect(await history(h, "disk")).toEqual(acked);
    expect(await metric(h, FULL)).toBe(0);
    expect(await h.stop()).toBe(0);
  },
  30_000,
);

test.skipIf(!mount)("a disk already full at start-up: one line naming it and exit 2; it starts once there is room", async () => {
  const dir = mount?.dir as string;
  const h = await startHerald({ dir });
  expect(await h.stop()).toBe(0);
  const filler = fillUp(dir);
  // SQLite cannot even read a WAL database without room for its shared-memory index.
  expectOneLine(await refusal(h.db), /its disk is full/);
  unlinkSync(filler);
  const again = await startHerald({ dir });
  herald.push(again);
  expect((await post(again, "disk", "back")).status).toBe(201);
});
