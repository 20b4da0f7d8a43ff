/**
 * Replay rate of Herald checkouts side by side: for each round, each checkout in turn gets a fresh hub (core 0),
 * a seeded log and one client replaying it from `Last-Event-ID` (this process, on core 1); medians at the end.
 *
 *   taskset -c 1 bun bench/replay-compare.ts [--events 100000] [--rounds 5] [--from 1] [--profile DIR] ROOT...
 *
 * Each ROOT is a checkout (a worktree of another commit, say); none given: this one.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { freePort, pinned } from "./lib/proc";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    events: { type: "string", default: "100000" },
    rounds: { type: "string", default: "5" },
    from: { type: "string", default: "1" },
    profile: { type: "string" },
    replays: { type: "string", default: "1" },
  },
});
const EVENTS = Number(values.events);
const ROUNDS = Number(values.rounds);
const FROM = Number(values.from);
const roots = positionals.length > 0 ? positionals.map((p) => resolve(p)) : [join(import.meta.dir, "..")];
const BATCH = 1000;
const MARK = Buffer.from("\nid: ");

/** Nanoseconds a process has run on a CPU: unlike wall time, hardly moved by other processes on a shared machine. */
function cpuNs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]);
}

async function startHub(root: string): Promise<{ pid: number; port: number; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "herald-replay-"));
  const port = freePort();
  const profile = values.profile ? ["--cpu-prof", "--cpu-prof-interval=100", `--cpu-prof-dir=${values.profile}`] : [];
  const proc = Bun.spawn(pinned([process.execPath, ...profile, join(root, "src", "index.ts")], 0), {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      HERALD_DB: join(dir, "h.db"),
      HERALD_SYNC: "full",
      HERALD_WORKERS: "1",
    },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "inherit",
  });
  const stop = async () => {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (const deadline = Date.now() + 15_000; ; ) {
    if (
      await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`${root} did not start`);
    await Bun.sleep(25);
  }
  return { pid: proc.pid, port, stop };
}

async function seed(port: number): Promise<void> {
  const one = `{"topic":"bench","data":{"t":0.000,"p":"${"x".repeat(60)}"}}`;
  const body = `{"events":[${Array.from({ length: BATCH }, () => one).join(",")}]}`;
  let left = EVENTS / BATCH;
  const worker = async () => {
    while (left-- > 0) {
      const r = await fetch(`http://127.0.0.1:${port}/events`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
      });
      if (!r.ok) throw new Error(`seed: ${r.status} ${await r.text()}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

/** Events per second from the request to the last expected event's bytes. */
function replay(port: number, expected: number): Promise<number> {
  return new Promise((done, fail) => {
    let count = 0;
    let first = 0;
    let tail: Buffer = Buffer.alloc(0);
    const t0 = performance.now();
    const timer = setTimeout(() => fail(new Error(`replay stalled at ${count}`)), 30_000);
    void Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => {
          s.write(`GET /stream?topic=bench HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nLast-Event-ID: ${FROM}\r\n\r\n`);
        },
        data: (s, chunk) => {
          if (first === 0) first = performance.now() - t0;
          const buf = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
          let last = -1;
          for (let at = buf.indexOf(MARK); at >= 0; at = buf.indexOf(MARK, at + 1)) {
            count++;
            last = at;
          }
          tail = buf.subarray(Math.max(last + 1, buf.length - MARK.length + 1));
          if (count >= expected) {
            const elapsed = performance.now() - t0;
            clearTimeout(timer);
            s.end();
            if (process.env.SHOW_FIRST)
              console.log(`  first bytes after ${first.toFixed(1)} ms, all after ${elapsed.toFixed(1)} ms`);
            done((count * 1000) / elapsed);
          }
        },
      },
    });
  });
}

const rates = new Map<string, number[]>(roots.map((r) => [r, []]));
const cpus = new Map<string, number[]>(roots.map((r) => [r, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const root of roots) {
    const hub = await startHub(root);
    try {
      await seed(hub.port);
      await Bun.sleep(1000);
      for (let r = 0; r < Number(values.replays); r++) {
        const cpu0 = cpuNs(hub.pid);
        const rate = await replay(hub.port, EVENTS - FROM);
        const cpuMs = (cpuNs(hub.pid) - cpu0) / 1e6;
        rates.get(root)?.push(rate);
        cpus.get(root)?.push(cpuMs);
        console.log(`round ${round + 1} ${root}: ${Math.round(rate)} events/s, hub CPU ${cpuMs.toFixed(1)} ms`);
      }
    } finally {
      await hub.stop();
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
for (const [root, xs] of rates) {
  const cpu = cpus.get(root) ?? [];
  console.log(
    `${root}: median ${Math.round(median(xs))} events/s (${xs.map(Math.round).join(", ")}); hub CPU median ${median(cpu).toFixed(1)} ms`,
  );
}
