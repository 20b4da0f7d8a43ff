/**
 * Publish: acknowledged events/s with no subscribers, single events and batches, Herald against the baselines,
 * and Herald's Mercure endpoint (a form POST per event) beside its native one.
 */
import { join } from "node:path";
import { type Api, MERCURE_PATH, publishRequest } from "../lib/api";
import { postRequest, publish, type Target } from "../lib/http-client";
import { type HubKind, runLoadgen, type SyncMode, startHub } from "../lib/hubs";
import { batchBody, TOPIC } from "../lib/payload";
import { cpuMeter, pinned, type ThreadsCpu, threadsCpuMeter } from "../lib/proc";
import { medianOf, percentiles } from "../lib/stats";

export type Publisher = "wrk" | "bun";
export type PublishCase =
  | "herald-full"
  | "herald-normal"
  | "herald-batch100"
  | "herald-mercure"
  | "baseline-memory"
  | "baseline-sqlite";

/** What hub a publish run measures, and how it publishes. */
export interface PublishShape {
  readonly hub: HubKind;
  readonly sync: SyncMode;
  readonly batch: number;
  readonly api: Api;
}

export const CASES: Record<PublishCase, PublishShape> = {
  "herald-full": { hub: "herald", sync: "full", batch: 1, api: "native" },
  "herald-normal": { hub: "herald", sync: "normal", batch: 1, api: "native" },
  "herald-batch100": { hub: "herald", sync: "full", batch: 100, api: "native" },
  "herald-mercure": { hub: "herald", sync: "full", batch: 1, api: "mercure" },
  "baseline-memory": { hub: "baseline-memory", sync: "full", batch: 1, api: "native" },
  "baseline-sqlite": { hub: "baseline-sqlite", sync: "full", batch: 1, api: "native" },
};

export interface PublishJob {
  readonly kind: "publish";
  readonly target: Target;
  readonly batch: number;
  /** The face single events are published on (batches are native). */
  readonly api: Api;
  readonly connections: number;
  readonly durationMs: number;
}

export interface PublishRun {
  readonly eventsPerSec: number;
  readonly requestsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Every request got a 2xx. */
  readonly allAcked: boolean;
  readonly errors: number;
  readonly hubCpu: number;
  readonly loadgenCpu: number;
}

/** A run on a hub `measurePublish` started: the hub's CPU over the phase also by thread, ms. */
export interface HubPublishRun extends PublishRun {
  readonly hubThreadsMs: ThreadsCpu;
}

function request(target: Target, batch: number, api: Api): (t: number) => Uint8Array {
  if (batch === 1) return publishRequest(api, target);
  const fixed = postRequest(target, "/events", batchBody(batch));
  return () => fixed;
}

/** In the load generator: the Bun publisher, where wrk is not installed. */
export async function publishClient(job: PublishJob): Promise<PublishRun> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await publish(
    job.target,
    { connections: job.connections, durationMs: job.durationMs },
    request(job.target, job.batch, job.api),
  );
  const used = process.cpuUsage(cpu0);
  const lat = percentiles(r.latenciesMs);
  return {
    eventsPerSec: (r.acked * job.batch * 1000) / r.durationMs,
    requestsPerSec: (r.acked * 1000) / r.durationMs,
    p50Ms: lat.p50,
    p99Ms: lat.p99,
    allAcked: r.errors === 0,
    errors: r.errors,
    hubCpu: 0,
    loadgenCpu: (used.user + used.system) / 1000 / (performance.now() - t0),
  };
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function wrkLatency(out: string, p: string): number {
  const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)`, "m").exec(out);
  return m ? Number(m[1]) * (UNIT_MS[m[2] ?? "ms"] ?? 1) : Number.NaN;
}

/** The wrk script (fixing method, type and body, as the Bun publisher sends them) and path of a case. */
function wrkRequest(batch: number, api: Api): { script: string; path: string } {
  if (batch > 1) return { script: "batch.lua", path: "/events" };
  return api === "native"
    ? { script: "post.lua", path: `/topics/${TOPIC}/events` }
    : { script: "mercure.lua", path: MERCURE_PATH };
}

/** wrk on the load-generator core: `-t1 -c<connections>`, the Lua script fixing method and body. */
async function wrk(target: Target, batch: number, api: Api, connections: number, durationMs: number): Promise<PublishRun> {
  const { script: name, path } = wrkRequest(batch, api);
  const script = join(import.meta.dir, "..", "wrk", name);
  const seconds = Math.max(1, Math.round(durationMs / 1000));
  const args = ["wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "-s", script];
  const proc = Bun.spawn(pinned([...args, `http://${target.host}:${target.port}${path}`], 1), { stdout: "pipe", stderr: "pipe" });
  const t0 = performance.now();
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const wall = performance.now() - t0;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
  if (Number.isNaN(rps)) throw new Error(`wrk failed:\n${out}\n${err}`);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const cpuUs = Number(proc.resourceUsage()?.cpuTime.total ?? 0n);
  return {
    eventsPerSec: rps * batch,
    requestsPerSec: rps,
    p50Ms: wrkLatency(out, "50"),
    p99Ms: wrkLatency(out, "99"),
    allAcked: errors === 0,
    errors,
    hubCpu: 0,
    loadgenCpu: cpuUs / 1000 / wall,
  };
}

export interface PublishSettings {
  readonly repeats: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly connections: number;
  readonly publisher: Publisher;
}

function once(c: PublishCase, s: PublishSettings): Promise<PublishRun> {
  return measurePublish(CASES[c], s);
}

/** One run on a fresh hub (`env` on top of the bench's): warm-up, then the measured phase with the hub's CPU. */
export async function measurePublish(
  { hub: kind, sync, batch, api }: PublishShape,
  s: PublishSettings,
  env: Record<string, string> = {},
): Promise<HubPublishRun> {
  const hub = await startHub(kind, sync, env);
  try {
    const target = { host: hub.host, port: hub.port };
    const measure = (durationMs: number) =>
      s.publisher === "wrk"
        ? wrk(target, batch, api, s.connections, durationMs)
        : runLoadgen<PublishRun>({
            kind: "publish",
            target,
            batch,
            api,
            connections: s.connections,
            durationMs,
          } satisfies PublishJob);
    if (s.warmupMs > 0) await measure(s.warmupMs);
    const hubCpu = cpuMeter(hub.pid);
    const hubThreads = threadsCpuMeter(hub.pid);
    const run = await measure(s.durationMs);
    return { ...run, hubCpu: hubCpu(), hubThreadsMs: hubThreads() };
  } finally {
    await hub.stop();
  }
}

export interface PublishResult {
  readonly publisher: Publisher;
  readonly cases: Record<PublishCase, PublishRun>;
  /** Herald (HERALD_SYNC=full) acked events/s over the in-memory baseline's. */
  readonly ratioFull: number;
  readonly ratioNormal: number;
  /** How much of `normal`'s throughput `full` keeps: what group commit buys. */
  readonly fullOverNormal: number;
  /** Herald's Mercure form POST over its native publish (both HERALD_SYNC=full): what the Mercure face costs. */
  readonly mercureOverNative: number;
  readonly runs: Record<PublishCase, PublishRun[]>;
}

/** In the runner: each case `repeats` times, the cases interleaved so drift affects all alike. */
export async function runPublish(s: PublishSettings, log: (line: string) => void): Promise<PublishResult> {
  const names = Object.keys(CASES) as PublishCase[];
  const runs = Object.fromEntries(names.map((n) => [n, [] as PublishRun[]])) as Record<PublishCase, PublishRun[]>;
  for (let i = 0; i < s.repeats; i++) {
    for (const name of names) {
      const run = await once(name, s);
      runs[name].push(run);
      log(`  publish ${name} #${i + 1}: ${Math.round(run.eventsPerSec)} events/s`);
    }
  }
  const cases = Object.fromEntries(names.map((n) => [n, medianOf(runs[n])])) as Record<PublishCase, PublishRun>;
  const rate = (n: PublishCase) => cases[n].eventsPerSec;
  return {
    publisher: s.publisher,
    cases,
    ratioFull: rate("herald-full") / rate("baseline-memory"),
    ratioNormal: rate("herald-normal") / rate("baseline-memory"),
    fullOverNormal: rate("herald-full") / rate("herald-normal"),
    mercureOverNative: rate("herald-mercure") / rate("herald-full"),
    runs,
  };
}
