/**
 * Replay rate of Herald checkouts side by side, alternating: each round, each checkout in turn gets a fresh hub on
 * core 0, a log seeded as the replay scenario seeds it, and one client (this process) replaying it from
 * `Last-Event-ID`. A fresh hub replays cold, as the bench's does; the hub's CPU time beside the rate is little
 * moved by other processes on a shared machine, where the rate is; its peak RSS over what it was before, as the
 * bench measures it.
 *
 *   taskset -c 1 bun bench/replay-compare.ts [--events 100000] [--rounds 5] [--from 1] [--replays 1] [--profile DIR] ROOT...
 *
 * Each ROOT is a checkout (`git worktree add /tmp/old <commit>`, with node_modules); none: this one. `--replays`
 * replays each seeded log that many times (the later ones warm); `--profile` writes each hub's CPU profile (Markdown) there.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { measureHeraldFrom, profileHeraldInto, startHub } from "./lib/hubs";
import { batchBody, TOPIC } from "./lib/payload";
import { rssBytes, rssPeak } from "./lib/proc";
import { median } from "./lib/stats";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    events: { type: "string", default: "100000" },
    rounds: { type: "string", default: "5" },
    from: { type: "string", default: "1" },
    replays: { type: "string", default: "1" },
    profile: { type: "string" },
  },
});
const EVENTS = Number(values.events);
const FROM = Number(values.from);
if (values.profile) profileHeraldInto(values.profile);
const roots = positionals.length > 0 ? positionals.map((p) => resolve(p)) : [join(import.meta.dir, "..")];
const SEED_BATCH = 1000;
/** Every event starts with an `id:` line (see lib/streams.ts). */
const MARK = Buffer.from("\nid: ");

/** Nanoseconds a process has run on a CPU. */
function cpuNs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]);
}

/** Batches of 1000 on four connections, as the replay scenario seeds. */
async function seed(port: number): Promise<void> {
  const body = batchBody(SEED_BATCH);
  let left = Math.ceil(EVENTS / SEED_BATCH);
  const connection = async () => {
    while (left-- > 0) {
      const headers = { "content-type": "application/json" };
      const res = await fetch(`http://127.0.0.1:${port}/events`, { method: "POST", body, headers });
      if (!res.ok) throw new Error(`seeding: ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all([connection(), connection(), connection(), connection()]);
}

/** Events per second from the request to the bytes of the last event. */
function replay(port: number, expected: number): Promise<number> {
  return new Promise((done, fail) => {
    let count = 0;
    let tail: Buffer = Buffer.alloc(0);
    const t0 = performance.now();
    const timer = setTimeout(() => fail(new Error(`the replay stalled after ${count} events`)), 30_000);
    void Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (socket) => {
          socket.write(
            `GET /stream?topic=${TOPIC} HTTP/1.1\r\nHost: herald\r\nAccept: text/event-stream\r\nLast-Event-ID: ${FROM}\r\n\r\n`,
          );
        },
        data: (socket, chunk) => {
          // A mark split across two reads is found in the bytes kept from the first.
          const bytes = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
          let last = -1;
          for (let at = bytes.indexOf(MARK); at >= 0; at = bytes.indexOf(MARK, at + 1)) {
            count++;
            last = at;
          }
          tail = bytes.subarray(Math.max(last + 1, bytes.length - MARK.length + 1));
          if (count < expected) return;
          const elapsed = performance.now() - t0;
          clearTimeout(timer);
          socket.end();
          done((count * 1000) / elapsed);
        },
      },
    }).catch(fail);
  });
}

const rates = new Map<string, number[]>(roots.map((r) => [r, []]));
const cpus = new Map<string, number[]>(roots.map((r) => [r, []]));
const growths = new Map<string, number[]>(roots.map((r) => [r, []]));
for (let round = 1; round <= Number(values.rounds); round++) {
  for (const root of roots) {
    measureHeraldFrom(root);
    const hub = await startHub("herald");
    try {
      await seed(hub.port);
      await Bun.sleep(1000);
      for (let r = 0; r < Number(values.replays); r++) {
        const rss0 = rssBytes(hub.pid);
        const peak = rssPeak(hub.pid, 20);
        const cpu0 = cpuNs(hub.pid);
        const rate = await replay(hub.port, EVENTS - FROM);
        const cpuMs = (cpuNs(hub.pid) - cpu0) / 1e6;
        const growthMb = (peak() - rss0) / 2 ** 20;
        rates.get(root)?.push(rate);
        cpus.get(root)?.push(cpuMs);
        growths.get(root)?.push(growthMb);
        console.log(
          `round ${round} ${root}: ${Math.round(rate)} events/s, hub CPU ${cpuMs.toFixed(1)} ms, RSS +${growthMb.toFixed(1)} MB`,
        );
      }
    } finally {
      await hub.stop();
    }
  }
}
for (const root of roots) {
  const xs = rates.get(root) ?? [];
  const cpu = median(cpus.get(root) ?? []);
  const growth = median(growths.get(root) ?? []);
  console.log(
    `${root}: median ${Math.round(median(xs))} events/s (${xs.map(Math.round).join(", ")}); hub CPU ${cpu.toFixed(1)} ms; RSS +${growth.toFixed(1)} MB`,
  );
}
