/**
 * A thread that stops answering (here one stopped where it stands, as a call that never returns would) would hold
 * every publish of a hub of several workers: publishers wait for every serving worker to take each commit, and for
 * the main thread to make it. The watchdog names it after 10 s of silence and ends the hub with SIGKILL, to be
 * started again (no thread can end a thread stuck in a call); nothing acknowledged is lost. A whole hub that was
 * stopped for longer (SIGSTOP, as `docker pause` or a suspended VM do) is not taken for one that hangs.
 */
import { afterEach, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { dispose, type Herald, history, publish, startHerald } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";
import { streamsOnEvery } from "./support/workers";

const FREEZER = join(import.meta.dir, "support", "freeze-thread.ts");
const YAMA = "/proc/sys/kernel/yama/ptrace_scope";
/** Tracing a process that is not one's child needs root or Yama's classic mode (Debian's default). */
const canFreeze = process.getuid?.() === 0 || !existsSync(YAMA) || readFileSync(YAMA, "utf8").trim() === "0";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** The threads of `pid` Bun runs workers on. */
function workerThreads(pid: number): number[] {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.filter((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim() === "Worker").map(Number);
}

async function freeze(tid: number): Promise<Subprocess> {
  const freezer = Bun.spawn([process.execPath, FREEZER, String(tid)], { stdout: "pipe", stderr: "inherit" });
  cleanups.push(() => freezer.kill("SIGKILL"));
  const reader = freezer.stdout.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value).trim()).toBe("frozen");
  return freezer;
}

const stopsAnswering = [
  { who: "a worker", line: "a worker has not answered for 10 s", thread: (pid: number) => workerThreads(pid)[0] as number },
  { who: "the main thread", line: "the main thread has not answered for 10 s", thread: (pid: number) => pid },
];

for (const { who, line: expected, thread } of stopsAnswering) {
  test.skipIf(!canFreeze)(
    `${who} that stops answering ends the hub after 10 s, and every acknowledged event is there after a restart`,
    async () => {
      const hub: Herald = await startHerald({ env: { HERALD_WORKERS: "2" } });
      cleanups.push(() => dispose(hub));
      const streams = await streamsOnEvery(hub.url, ["hang"], 2, 1);
      cleanups.push(() => {
        for (const s of streams) s.close();
      });
      const before = await publish(hub.url, "hang", { n: 1 });
      for (const s of streams) await s.until((r) => r.events.some((e) => e.id === before.id));

      expect(workerThreads(hub.proc.pid).length).toBe(2);
      await freeze(thread(hub.proc.pid));
      const frozenAt = performance.now();
      // Held: the frozen thread never makes the commit, or never takes it, or never reads the request.
      const held = publish(hub.url, "hang", { n: 2 }).then(
        () => "acknowledged",
        () => "failed",
      );
      await hub.proc.exited;
      const waited = performance.now() - frozenAt;
      expect(hub.proc.signalCode).toBe("SIGKILL");
      expect(await held).toBe("failed");
      expect(waited).toBeGreaterThan(9000);
      const line = hub.lines.find((l) => l.includes(expected));
      expect(line).toBeDefined();
      expect(JSON.parse(line as string)).toMatchObject({ level: "error", silentMs: 10_000 });

      const again = await startHerald({ dir: hub.dir, env: { HERALD_WORKERS: "2" } });
      cleanups.unshift(() => dispose(again));
      expect((await history(again.url, "hang")).map((e) => e.id)).toContain(before.id);
      const after = await SseReader.open(streamUrl(again.url, ["hang"], { lastEventId: before.id }));
      cleanups.push(() => after.close());
      const next = await publish(again.url, "hang", { n: 3 });
      await after.until((r) => r.events.some((e) => e.id === next.id));
    },
    30_000,
  );
}

test.skipIf(!canFreeze)(
  "a hub stopped whole for longer than 10 s goes on when continued: no thread is taken for hung",
  async () => {
    const hub = await startHerald({ env: { HERALD_WORKERS: "2" } });
    cleanups.push(() => dispose(hub));
    const streams = await streamsOnEvery(hub.url, ["paused"], 2, 1);
    cleanups.push(() => {
      for (const s of streams) s.close();
    });
    // Each thread is held a moment before the whole hub stops and a moment after it goes on, the main thread
    // released first: each looks a few times around the stop and never hears the others, whose silence is past
    // 10 s by the clock.
    const main = await freeze(hub.proc.pid);
    const workers = await Promise.all(workerThreads(hub.proc.pid).map(freeze));
    await Bun.sleep(1000);
    hub.proc.kill("SIGSTOP");
    await Bun.sleep(11_000);
    hub.proc.kill("SIGCONT");
    await Bun.sleep(1500);
    main.kill("SIGKILL");
    await Bun.sleep(1500);
    for (const freezer of workers) freezer.kill("SIGKILL");
    await Bun.sleep(1000);
    const { id } = await publish(hub.url, "paused", { after: "pause" });
    for (const s of streams) await s.until((r) => r.events.some((e) => e.id === id));
    expect(hub.proc.exitCode).toBeNull();
    expect(hub.lines.filter((l) => l.includes("has not answered"))).toEqual([]);
  },
  30_000,
);
