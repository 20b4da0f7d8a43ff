/**
 * A power cut under running publishers. ext4 on a loop device is stopped as a lost power supply stops it: its
 * dirty pages and unwritten journal are dropped (test/support/mounts.ts, cutPower), so after the repair only what
 * was flushed is there. `HERALD_SYNC=full` acknowledges an event once its commit is on the disk, with one worker
 * (the flush on a pool thread beside the serving one) and with two (on the writer's): every acknowledged event
 * must be there, with its data. A file written just before each cut and never flushed is the check that the cut
 * dropped what was not on the disk (without the flush, this test loses the newest events).
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Herald, history, startHerald } from "./support/herald";
import { mountExt4 } from "./support/mounts";

const PUBLISHERS = 8;
const PUBLISHING_MS = 1500;

const mount = mountExt4(64);
const herald: Herald[] = [];
afterAll(async () => {
  for (const h of herald) await h.kill();
  mount?.unmount();
});

/** Publishes back to back from `PUBLISHERS` clients until the power goes; the events acknowledged before it. */
async function publishUntilCut(h: Herald, topic: string, cut: () => void): Promise<Map<string, string>> {
  const acked = new Map<string, string>();
  let on = true;
  const publisher = async (p: number) => {
    for (let i = 0; on; i++) {
      const data = `${p}.${i}`;
      try {
        const res = await fetch(`${h.url}/topics/${topic}/events`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ data }),
        });
        if (res.status === 201) acked.set(((await res.json()) as { id: string }).id, data);
      } catch {
        return;
      }
    }
  };
  const running = Array.from({ length: PUBLISHERS }, (_, p) => publisher(p));
  await Bun.sleep(PUBLISHING_MS);
  // Acknowledgements still on their way count: they were sent before the cut, so the events were flushed.
  cut();
  on = false;
  const after = await fetch(`${h.url}/topics/${topic}/events`, { method: "POST", body: "after the cut" });
  expect([after.status, ((await after.json()) as { error?: { code: string } }).error?.code]).toEqual([503, "log_unavailable"]);
  await h.kill();
  await Promise.all(running);
  return acked;
}

/** Cuts the power under publishers, repairs, restarts: the acknowledged events the log no longer has. */
async function lostInCut(workers: number): Promise<{ acked: number; lost: string[] }> {
  const fs = mount as NonNullable<typeof mount>;
  const topic = `cut-${workers}`;
  const h = await startHerald({ dir: fs.dir, env: { HERALD_SYNC: "full", HERALD_WORKERS: String(workers) } });
  herald.push(h);
  const witness = join(fs.dir, `${topic}.unflushed`);
  const acked = await publishUntilCut(h, topic, () => {
    writeFileSync(witness, topic);
    fs.cutPower();
  });
  fs.repair();
  expect(readFileSync(witness, { flag: "a+" }).toString()).not.toBe(topic);
  const again = await startHerald({ dir: fs.dir, env: { HERALD_WORKERS: "1" } });
  herald.push(again);
  const kept = new Map((await history(again.url, topic)).map((e) => [e.id, e.data]));
  await again.stop();
  const lost = [...acked].filter(([id, data]) => kept.get(id) !== data).map(([id]) => id);
  return { acked: acked.size, lost };
}

test.skipIf(!mount)(
  "HERALD_SYNC=full, one worker: every event acknowledged before a power cut is there after it",
  async () => {
    const { acked, lost } = await lostInCut(1);
    expect(acked).toBeGreaterThan(500);
    expect(lost).toEqual([]);
  },
  30_000,
);

test.skipIf(!mount)(
  "HERALD_SYNC=full, two workers: every event acknowledged before a power cut is there after it",
  async () => {
    const { acked, lost } = await lostInCut(2);
    expect(acked).toBeGreaterThan(500);
    expect(lost).toEqual([]);
  },
  30_000,
);
