/** Processes for the bench: pinned spawns with a raised fd limit, and what /proc says about them. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/** The open-file limit asked for; the hard limit caps it where the container does not allow more. */
export const WANTED_FDS = 65536;
const HAS_TASKSET = Bun.which("taskset") !== null;
const CLOCK_TICKS = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** The hub gets core 0, load generators core 1, so neither steals the other's CPU. */
export type Core = 0 | 1;

/**
 * Cores for a hub of several threads (HERALD_WORKERS > 1): every core but the load generator's, or every core on a
 * machine of two, where it then shares core 1 with the load generator.
 */
export function hubCores(): string {
  const cores = availableParallelism();
  return cores > 2 ? `0,2-${cores - 1}` : `0-${cores - 1}`;
}

/** argv for `command` under `ulimit -n` and, when there is taskset, pinned to `core` (or a taskset list); exec keeps the pid. */
export function pinned(command: string[], core: Core | string): string[] {
  const pin = HAS_TASKSET ? ["taskset", "-c", String(core)] : [];
  return ["sh", "-c", `ulimit -n ${WANTED_FDS} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`, "sh", ...pin, ...command];
}

export function isPinned(): boolean {
  return HAS_TASKSET;
}

/** Resident memory of a process in bytes (0 once it is gone). */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) a process or thread has used so far, from its stat file, in ms (0 once it is gone). */
function statCpuMs(path: string): number {
  try {
    const stat = readFileSync(path, "utf8");
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) a process has used so far, every thread, those that ended included, in ms. */
export function cpuMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/stat`);
}

/** A hub's CPU by thread: ms over a window, or µs per event. */
export interface ThreadsCpu {
  /** The main thread (its id is the pid): with HERALD_WORKERS > 1, the log's writer and the coordinator. */
  readonly main: number;
  /** Bun's Worker threads, which it names `Worker`: with HERALD_WORKERS > 1, the ones serving HTTP. */
  readonly workers: number;
  /**
   * The rest: Bun's pool (`Bun Pool <n>`, which runs node:fs's callback calls), JavaScriptCore's collector and
   * JIT (`HeapHelper`, `ollector Thread`, `JITWorker`, `JSCWarmUp`), mimalloc's `mi-scavenger`, threads that ended.
   */
  readonly helpers: number;
}

const WORKER_THREAD = "Worker";

function threadsCpuMs(pid: number): ThreadsCpu {
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    // gone: every figure 0
  }
  let workers = 0;
  for (const tid of tids) {
    const task = `/proc/${pid}/task/${tid}`;
    if (threadName(`${task}/comm`) === WORKER_THREAD) workers += statCpuMs(`${task}/stat`);
  }
  const main = statCpuMs(`/proc/${pid}/task/${pid}/stat`);
  // The process's own figure keeps the time of threads that ended (a JIT thread comes and goes).
  return { main, workers, helpers: cpuMs(pid) - main - workers };
}

function threadName(commPath: string): string {
  try {
    return readFileSync(commPath, "utf8").trim();
  } catch {
    return "";
  }
}

/** A process's CPU by thread over a window, in ms: call the returned function at the end. */
export function threadsCpuMeter(pid: number): () => ThreadsCpu {
  const start = threadsCpuMs(pid);
  return () => {
    const end = threadsCpuMs(pid);
    return { main: end.main - start.main, workers: end.workers - start.workers, helpers: end.helpers - start.helpers };
  };
}

/** The soft open-file limit a process runs with. */
export function fdLimit(pid: number): number {
  try {
    const limits = readFileSync(`/proc/${pid}/limits`, "utf8");
    return Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** CPU use of a process over a window, as a share of one core: call the returned function at the end. */
export function cpuMeter(pid: number): () => number {
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  return () => (cpuMs(pid) - cpu0) / Math.max(1, performance.now() - t0);
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak. */
export function rssPeak(pid: number, everyMs = 50): () => number {
  let peak = rssBytes(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid));
  }, everyMs);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rssBytes(pid));
  };
}

/** Keeps reading a child's output so it never blocks on a full pipe, holding the last lines for errors. */
export function drainLines(stream: ReadableStream<Uint8Array>, into: string[], keep = 200): Promise<void> {
  return (async () => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      const lines = rest.split("\n");
      rest = lines.pop() ?? "";
      into.push(...lines);
      if (into.length > keep) into.splice(0, into.length - keep);
    }
    if (rest) into.push(rest);
  })();
}

/** A free TCP port on the loopback (a hub at warn level does not log the port it got). */
export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

export function procExists(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}
