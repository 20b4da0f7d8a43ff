/** Starts the hubs under test (Herald, the baselines) and the load generator, as pinned processes. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { drainLines, fdLimit, freePort, hubCores, pinned } from "./proc";

const ROOT = join(import.meta.dir, "..", "..");
const BUN = process.execPath;

/** The checkout whose Herald is measured: this one, unless bench/compare.ts points at another. */
let heraldRoot = ROOT;

export function measureHeraldFrom(root: string): void {
  heraldRoot = root;
}

/** Where Herald writes a CPU profile (Markdown) of each run when profiling is on; undefined: off. */
let profileDir: string | undefined;

export function profileHeraldInto(dir: string | undefined): void {
  profileDir = dir;
}

/** Hubs and load generators still running, so an interrupted bench leaves no process behind. */
const live = new Set<Subprocess>();

export function killAll(): void {
  for (const proc of live) proc.kill("SIGKILL");
}

export type HubKind = "herald" | "baseline-memory" | "baseline-sqlite";
export type SyncMode = "full" | "normal";

export interface Hub {
  readonly kind: HubKind;
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly fdLimit: number;
  /** The hub's last output lines (Herald logs warnings such as slow-subscriber drops). */
  readonly lines: string[];
  stop(): Promise<void>;
}

/**
 * A hub on core 0, one thread serving (HERALD_WORKERS=1, whatever the default), unless `env` asks for workers:
 * then on `hubCores()`.
 */
export async function startHub(kind: HubKind, sync: SyncMode = "full", env: Record<string, string> = {}): Promise<Hub> {
  const dir = mkdtempSync(join(tmpdir(), "herald-bench-"));
  const port = freePort();
  const root = kind === "herald" ? heraldRoot : ROOT;
  const entry = kind === "herald" ? join(root, "src", "index.ts") : join(root, "bench", "baseline", "hub.ts");
  const profile = kind === "herald" && profileDir ? ["--cpu-prof-md", `--cpu-prof-dir=${profileDir}`] : [];
  const cores = Number(env.HERALD_WORKERS ?? 1) > 1 ? hubCores() : 0;
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(pinned([BUN, ...profile, entry], cores), {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      HERALD_DB: join(dir, "herald.db"),
      HERALD_SYNC: sync,
      HERALD_LOG_LEVEL: "warn",
      BASELINE_STORE: kind === "baseline-sqlite" ? "sqlite" : "memory",
      BASELINE_DB: join(dir, "baseline.db"),
      BASELINE_SYNC: sync,
      HERALD_WORKERS: "1",
      ...env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  const lines: string[] = [];
  void drainLines(proc.stdout, lines);
  void drainLines(proc.stderr, lines);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    proc.kill("SIGTERM");
    const killer = setTimeout(() => proc.kill("SIGKILL"), 6000);
    await proc.exited;
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (proc.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${kind} did not start:\n${lines.join("\n")}`);
    }
    await Bun.sleep(25);
  }
  return { kind, pid: proc.pid, host: "127.0.0.1", port, url, fdLimit: fdLimit(proc.pid), lines, stop };
}

/** Runs one job in a load-generator process on the other core and returns what it printed last, as JSON. */
export async function runLoadgen<R>(job: unknown): Promise<R> {
  const proc = Bun.spawn(pinned([BUN, join(ROOT, "bench", "loadgen.ts"), JSON.stringify(job)], 1), {
    cwd: ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const last = out.trim().split("\n").pop() ?? "";
  if (code !== 0 || !last.startsWith("{")) throw new Error(`load generator failed (exit ${code}):\n${out}\n${err}`);
  return JSON.parse(last) as R;
}

/**
 * One stream-holding run: a fresh hub with `full` sync (and `env` on top of the bench's), the job (given the hub's
 * address and pid) in the load generator, then the hub stopped. Refuses up front when the fd limit cannot hold the
 * streams.
 */
export async function runStreamsJob<R>(
  kind: HubKind,
  streams: number,
  job: (target: { host: string; port: number }, hubPid: number) => unknown,
  env: Record<string, string> = {},
): Promise<R> {
  const hub = await startHub(kind, "full", env);
  try {
    if (hub.fdLimit > 0 && hub.fdLimit < streams + 100) throw new Error(`fd limit ${hub.fdLimit} < ${streams} streams`);
    return await runLoadgen<R>(job({ host: hub.host, port: hub.port }, hub.pid));
  } finally {
    await hub.stop();
  }
}
