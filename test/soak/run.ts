/**
 * `bun run soak -- --minutes N [--redis] [--workers N]`: publishers, subscribers and slow readers against a hub
 * that is killed with SIGKILL every 5-15 s and started again on the same database; with --workers, a hub (or
 * nodes) of N worker threads, where a fault is also one worker ended as a crash would (SIGUSR2); with --redis,
 * two nodes on one redis-server, where a fault is a node killed, Redis paused, or Redis rolled back to an older copy. Checked
 * all along: every acknowledged event is in the log exactly once with its id (unless a rollback took it); no
 * id is given to two events; every subscriber run got exactly the log's matching ids after its start; memory
 * stays under a bound. Ends with a report; exits 1 on any violation.
 */
import { parseArgs } from "node:util";
import { removeDir } from "../support/herald";
import { ClusterControl } from "./cluster-control";
import { HubControl } from "./hub-control";
import { type Acked, Ledger, random } from "./ledger";
import { readLog } from "./log-reader";
import { Publisher } from "./publisher";
import { checkRun, type Run, Subscriber } from "./subscriber";
import type { SoakTarget } from "./target";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "1" },
    seed: { type: "string" },
    "max-rss-mb": { type: "string", default: "400" },
    publishers: { type: "string", default: "3" },
    subscribers: { type: "string", default: "6" },
    slow: { type: "string", default: "2" },
    redis: { type: "boolean", default: false },
    workers: { type: "string", default: "1" },
  },
});
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const rnd = random(seed);
const ledger = new Ledger();
// A small per-subscriber budget so the slow readers reach it; quick heartbeats and retries keep the churn up.
const workers = Number(values.workers);
const env = {
  HERALD_SUBSCRIBER_BUFFER_BYTES: String(256 * 1024),
  HERALD_HEARTBEAT_MS: "1000",
  HERALD_RETRY_MS: "100",
  HERALD_WORKERS: String(workers),
};
const hub: SoakTarget = values.redis ? new ClusterControl(env, ledger) : new HubControl(env, workers);
const started = Date.now();
const endAt = started + Number(values.minutes) * 60_000;
let running = true;
const finishedRuns: Run[] = [];
let unverified: Acked[] = [];
const originalAck = ledger.ack.bind(ledger);
ledger.ack = (e) => {
  originalAck(e);
  unverified.push(e);
};

/** Every event acknowledged since the last check is in the log, with its id, topic, type and token. */
async function verifyAcked(): Promise<void> {
  const batch = unverified;
  unverified = [];
  if (batch.length === 0) return;
  const ids = batch.map((e) => e.id);
  const logged = await readLog(hub.url, ["*"], Math.min(...ids) - 1, Math.max(...ids));
  const byId = new Map(logged.map((e) => [e.id, e]));
  for (const a of batch) {
    const e = byId.get(a.id);
    if (!e && ledger.excused(a.id)) continue;
    if (!e || e.topic !== a.topic || e.event !== a.event || e.data.token !== a.token) {
      ledger.violate(
        `acknowledged ${JSON.stringify(a)} is ${e ? `logged as ${JSON.stringify({ ...e, data: e.data.token })}` : "missing"}`,
      );
    }
  }
}

async function checkRuns(): Promise<void> {
  for (const run of finishedRuns.splice(0)) await checkRun(hub.url, run, ledger);
}

async function killer(): Promise<void> {
  while (Date.now() < endAt) {
    await Bun.sleep(Math.min(5000 + rnd() * 10_000, Math.max(0, endAt - Date.now())));
    if (Date.now() >= endAt) break;
    await countSlowCuts();
    const fault = await hub.fault(rnd);
    // Right after a fault: what was acknowledged before it must all be there.
    await verifyAcked();
    progress(fault);
  }
}

/** Subscriber runs are checked beside the kills, not between them: a long run takes a while to read back. */
async function checker(): Promise<void> {
  while (running) {
    await checkRuns();
    await Bun.sleep(500);
  }
}

/** Each process's count of slow readers cut off, as last read (by its start time): a process that goes on counts once. */
const cutsSeen = new Map<string, number>();

/** The hub's count of slow readers it cut off; it restarts from 0 with the process, so it is read before each kill. */
async function countSlowCuts(): Promise<void> {
  try {
    const text = await (await fetch(`${hub.url}/metrics`)).text();
    const cuts = Number(/^herald_slow_subscribers_dropped_total (\d+)/m.exec(text)?.[1] ?? 0);
    const process = /^process_start_time_seconds (\S+)/m.exec(text)?.[1] ?? "";
    ledger.counts.slowCuts += cuts - (cutsSeen.get(process) ?? 0);
    cutsSeen.set(process, cuts);
  } catch {
    // a metrics read that fails changes nothing the soak checks
  }
}

function progress(fault: string): void {
  const c = ledger.counts;
  console.log(
    `soak: ${Math.round((Date.now() - started) / 1000)} s, ${fault}: faults ${hub.kills}, acked ${c.published}, received ${c.received}, reconnects ${c.reconnects}, slow cuts ${c.slowCuts}, peak RSS ${mb(hub.peakRss)} MiB, violations ${ledger.violations.length}`,
  );
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** The whole log at the end: ids strictly increasing, each token once, every acknowledged event present. */
async function finalCheck(): Promise<number> {
  const log = await readLog(hub.url, ["*"], 0);
  const tokens = new Map<string, number>();
  let previous = 0;
  for (const e of log) {
    if (e.id <= previous) ledger.violate(`log id ${e.id} after ${previous}`);
    previous = e.id;
    const prior = tokens.get(e.data.token);
    if (prior !== undefined) ledger.violate(`${e.data.token} logged twice: ids ${prior} and ${e.id}`);
    tokens.set(e.data.token, e.id);
  }
  for (const a of ledger.acked.values()) {
    if (tokens.get(a.token) === undefined && ledger.excused(a.id)) continue;
    if (tokens.get(a.token) !== a.id) ledger.violate(`acknowledged ${a.token} as ${a.id}, logged as ${tokens.get(a.token)}`);
  }
  return log.length;
}

console.log(
  `soak: seed=${seed} minutes=${values.minutes}${values.redis ? " redis" : ""}${workers > 1 ? ` workers=${workers}` : ""} in ${hub.dir}`,
);
await hub.start();
const clients = [
  ...Array.from({ length: Number(values.publishers) }, (_, i) =>
    new Publisher(`p${i}`, hub, ledger, random(seed + i + 1)).loop(() => running),
  ),
  ...Array.from({ length: Number(values.subscribers) + Number(values.slow) }, (_, i) =>
    new Subscriber(hub, ledger, random(seed + 100 + i), i >= Number(values.subscribers), (run) => finishedRuns.push(run)).loop(
      () => running,
    ),
  ),
];
const checking = checker();
await killer();
running = false;
await Promise.all([...clients, checking]);
await verifyAcked();
await checkRuns();
const logged = await finalCheck();
await countSlowCuts();
const health = (await (await fetch(`${hub.url}/health`)).json()) as { status: string };
if (health.status !== "ok") ledger.violate(`health is ${health.status} at the end`);
const exitCode = await hub.stop();
if (exitCode !== 0) ledger.violate(`the hub exited with ${exitCode} on SIGTERM`);
const maxRss = Number(values["max-rss-mb"]) * 1024 * 1024;
if (hub.peakRss > maxRss) ledger.violate(`peak RSS ${mb(hub.peakRss)} MiB is over ${values["max-rss-mb"]} MiB`);
removeDir(hub.dir);

const report = {
  seed,
  minutes: Number(((Date.now() - started) / 60_000).toFixed(2)),
  eventsAcknowledged: ledger.counts.published,
  eventsLogged: logged,
  log: values.redis ? "redis (2 nodes)" : "sqlite",
  workers,
  faultsSurvived: hub.kills,
  reconnects: ledger.counts.reconnects,
  eventsReceived: ledger.counts.received,
  subscriberRunsChecked: ledger.counts.runsChecked,
  batches: ledger.counts.batches,
  publishRetries: ledger.counts.retries,
  idempotentRepeats: ledger.counts.repeats,
  repeatsAppendedAfterRollback: ledger.counts.repeatsAfterRollback,
  unkeyedAbandoned: ledger.counts.abandoned,
  slowReadersCut: ledger.counts.slowCuts,
  peakRssMiB: mb(hub.peakRss),
  violations: ledger.violations.length,
};
console.log(JSON.stringify(report, null, 2));
for (const v of ledger.violations.slice(0, 20)) console.log(`  ${v}`);
process.exit(ledger.violations.length > 0 ? 1 : 0);
