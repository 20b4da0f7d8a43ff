/**
 * A read-only file system under a running hub. Linux refuses `mount -o remount,ro` while SQLite holds the
 * database open for writing, so the test does what a failing disk does: ext4 (errors=remount-ro) on a loop
 * device, forced read-only by the kernel's own error path. Such a file system only comes back through an
 * unmount and fsck, so recovery here is a clean stop, the repair, and a restart that has every event.
 */
import { afterAll, expect, test } from "bun:test";
import { health, history, logged, metric, post } from "./support/faults";
import { type Herald, startHerald } from "./support/herald";
import { mountExt4 } from "./support/mounts";
import { SseReader, streamUrl } from "./support/sse";

const mount = mountExt4(32);
const herald: Herald[] = [];
afterAll(async () => {
  for (const h of herald) await h.kill();
  mount?.unmount();
});

test.skipIf(!mount)(
  "read-only: 503 log_unavailable naming it, reads go on, a clean stop, nothing acknowledged lost",
  async () => {
    const fs = mount as NonNullable<typeof mount>;
    const h = await startHerald({ dir: fs.dir, env: { HERALD_HEARTBEAT_MS: "200" } });
    herald.push(h);
    const stream = await SseReader.open(streamUrl(h.url, ["ro"]));
    const acked: Array<[string, unknown]> = [];
    for (const data of ["a", "b", "c"]) acked.push([(await post(h, "ro", data)).body.id as string, data]);

    fs.breakReadOnly();
    const refused = await post(h, "ro", "d");
    expect([refused.status, refused.body.error?.code]).toEqual([503, "log_unavailable"]);
    expect(refused.retryAfter).toMatch(/^\d+$/);
    expect(refused.body.error?.message).toContain("read-only");
    expect((await post(h, undefined, [1])).status).toBe(503);
    const { status, body } = await health(h);
    expect(status).toBe(503);
    expect(body).toMatchObject({ status: "degraded", reason: "log_unavailable" });
    expect(body.message).toContain("read-only");
    expect(await metric(h, 'herald_log_faults_total{reason="log_unavailable"}')).toBe(1);
    expect(await metric(h, "herald_log_degraded")).toBe(1);

    expect(await history(h, "ro")).toEqual(acked);
    await stream.count(3);
    const beats = stream.comments.length;
    await stream.until((r) => r.comments.length >= beats + 2);
    expect(stream.ids()).toEqual(acked.map(([id]) => Number(id)));
    expect(logged(h, "log fault started")).toHaveLength(1);

    // The checkpoint cannot be written; the stop is clean all the same and the streams end properly.
    expect(await h.stop()).toBe(0);
    await stream.until((r) => r.ended);
    expect(stream.endedCleanly).toBe(true);

    fs.repair();
    const again = await startHerald({ dir: fs.dir });
    herald.push(again);
    expect(await history(again, "ro")).toEqual(acked);
    const next = await post(again, "ro", "e");
    expect([next.status, Number(next.body.id)]).toEqual([201, Number(acked[2]?.[0]) + 1]);
    expect((await health(again)).status).toBe(200);
  },
  30_000,
);
