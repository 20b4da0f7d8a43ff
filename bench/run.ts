/** `bun run bench` / `bun run bench:smoke`: runs every scenario, writes results/<timestamp>.{md,json} and latest.md. */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatResults } from "./lib/format";
import { killAll, profileHeraldInto } from "./lib/hubs";
import { describeMachine } from "./lib/machine";
import { judge, markdown, type Profile, type Results } from "./report";
import { runCluster } from "./scenarios/cluster";
import { runFanout } from "./scenarios/fanout";
import { runIdle } from "./scenarios/idle";
import { runPaced } from "./scenarios/paced";
import { runPresence } from "./scenarios/presence";
import { type Publisher, runPublish } from "./scenarios/publish";
import { runReplay } from "./scenarios/replay";
import { runRouting } from "./scenarios/routing";
import { runWorkers } from "./scenarios/workers";

const PROFILES: Record<Profile["name"], Profile> = {
  full: {
    name: "full",
    repeats: 2,
    phaseMs: 5000,
    warmupMs: 1000,
    connections: 32,
    fanoutStreams: 1000,
    scalingStreams: [100, 1000, 5000],
    sampledStreams: 20,
    idleStreams: 5000,
    idleHoldMs: 60_000,
    replayEvents: 100_000,
    bigReplayEvents: 1_000_000,
    clusterMemoryEvents: 100_000,
    routingStreams: 5000,
    workersRatePerSec: 1000,
    redisRequests: 100_000,
    presenceRate: 500,
    presenceConnectsPerSec: 1000,
  },
  smoke: {
    name: "smoke",
    repeats: 1,
    phaseMs: 1000,
    warmupMs: 0,
    connections: 32,
    fanoutStreams: 50,
    scalingStreams: [10, 50],
    sampledStreams: 5,
    idleStreams: 50,
    idleHoldMs: 1000,
    replayEvents: 10_000,
    bigReplayEvents: 0,
    clusterMemoryEvents: 2000,
    routingStreams: 50,
    workersRatePerSec: 100,
    redisRequests: 5000,
    presenceRate: 100,
    presenceConnectsPerSec: 100,
  },
};
const SCENARIOS = [
  "paced",
  "fanout",
  "publish",
  "idle",
  "replay",
  "scaling",
  "routing",
  "cluster",
  "workers",
  "presence",
] as const;

const { values: flags } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    out: { type: "string" },
    publisher: { type: "string" },
    only: { type: "string" },
    repeats: { type: "string" },
    profile: { type: "boolean", default: false },
  },
});
const base = PROFILES[flags.smoke ? "smoke" : "full"];
const profile: Profile = flags.repeats ? { ...base, repeats: Number(flags.repeats) } : base;
const only = new Set((flags.only ?? SCENARIOS.join(",")).split(","));
const publisher: Publisher = flags.publisher === "bun" || Bun.which("wrk") === null ? "bun" : "wrk";
const outDir = flags.out ?? join(import.meta.dir, "results", profile.name === "smoke" ? "smoke" : "");
const log = (line: string) => process.stderr.write(`${line}\n`);
if (flags.profile) profileHeraldInto(join(outDir, "profiles"));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

const machine = describeMachine();
if (profile.name === "full" && (machine.loadAverage[0] ?? 0) > 1) {
  log(`warning: load average ${machine.loadAverage.join(" ")}: other work on this machine will skew the figures`);
}
const started = new Date();
const t0 = performance.now();
const fanoutSettings = (streams: number) => ({
  streams,
  repeats: profile.repeats,
  phaseMs: profile.phaseMs,
  connections: profile.connections,
  sampled: profile.sampledStreams,
});

log(`herald bench (${profile.name}): ${SCENARIOS.filter((s) => only.has(s)).join(", ")}`);
const errors: string[] = [];
/** One failed scenario (a hub that would not start, a stuck stream) is reported; the others still run. */
async function scenario<T>(name: (typeof SCENARIOS)[number], run: () => Promise<T>): Promise<T | undefined> {
  if (!only.has(name)) return undefined;
  try {
    return await run();
  } catch (error) {
    const message = `${name}: ${error instanceof Error ? error.message : String(error)}`;
    errors.push(message);
    log(`  FAILED ${message}`);
    return undefined;
  }
}

const paced = await scenario("paced", () =>
  runPaced(
    {
      streams: profile.fanoutStreams,
      repeats: profile.repeats,
      // Each step is a phase of its own; a search of ten or more of them stays within a minute or two per hub.
      phaseMs: Math.min(profile.phaseMs, 3000),
      sampled: profile.sampledStreams,
      // A quarter more per step: the figure is within 25% of the true limit. The smoke run only shows it works.
      step: profile.name === "smoke" ? 4 : 1.25,
    },
    log,
  ),
);
const fanout = await scenario("fanout", () => runFanout(fanoutSettings(profile.fanoutStreams), log));
const publish = await scenario("publish", () =>
  runPublish(
    {
      repeats: profile.repeats,
      durationMs: profile.phaseMs,
      warmupMs: profile.warmupMs,
      connections: profile.connections,
      publisher,
    },
    log,
  ),
);
const idle = await scenario("idle", () =>
  runIdle({ streams: profile.idleStreams, holdMs: profile.idleHoldMs, repeats: profile.repeats }, log),
);
const replay = await scenario("replay", () => runReplay({ events: profile.replayEvents, repeats: profile.repeats }, log));
const bigReplay =
  profile.bigReplayEvents > 0
    ? await scenario("replay", () => runReplay({ events: profile.bigReplayEvents, repeats: profile.repeats }, log))
    : undefined;
const scaling = await scenario("scaling", async () => {
  const sizes = [];
  for (const streams of profile.scalingStreams) {
    // Scenario 1 already measured this size with the same settings.
    sizes.push(fanout?.streams === streams ? fanout : await runFanout(fanoutSettings(streams), log));
  }
  return sizes;
});

const routing = await scenario("routing", () =>
  runRouting(
    // A steady rate well within what the hub sustains, so the figure is work per event, not queueing.
    { streams: profile.routingStreams, ratePerSec: 500, phaseMs: profile.phaseMs, repeats: profile.repeats },
    log,
  ),
);

const cluster = await scenario("cluster", () => {
  if (Bun.which("redis-server") === null) throw new Error("redis-server is not installed (apt-get install redis-server)");
  return runCluster(
    {
      repeats: profile.repeats,
      durationMs: profile.phaseMs,
      warmupMs: profile.warmupMs,
      connections: profile.connections,
      streams: profile.fanoutStreams,
      sampled: profile.sampledStreams,
      memoryEvents: profile.clusterMemoryEvents,
    },
    log,
  );
});

const workers = await scenario("workers", () =>
  runWorkers(
    {
      repeats: profile.repeats,
      phaseMs: profile.phaseMs,
      warmupMs: profile.warmupMs,
      connections: profile.connections,
      streams: profile.fanoutStreams,
      sampled: profile.sampledStreams,
      ratePerSec: profile.workersRatePerSec,
      replayEvents: profile.replayEvents,
      redisRequests: profile.redisRequests,
    },
    log,
  ),
);

const presence = await scenario("presence", () =>
  runPresence(
    {
      repeats: profile.repeats,
      phaseMs: profile.phaseMs,
      streams: profile.fanoutStreams,
      sampled: profile.sampledStreams,
      ratePerSec: profile.presenceRate,
      connectsPerSec: profile.presenceConnectsPerSec,
      // Each storm stream stays half a second: at 1000 connects/s, about 500 come and go at once.
      holdMs: 500,
    },
    log,
  ),
);

const results: Results = {
  profile,
  startedAt: started.toISOString(),
  durationS: Math.round((performance.now() - t0) / 1000),
  machine,
  loadAverageAfter: os.loadavg().map((l) => Math.round(l * 100) / 100),
  paced,
  fanout,
  publish,
  idle,
  replay,
  bigReplay,
  scaling,
  routing,
  cluster,
  workers,
  presence,
  errors,
};
const targets = judge(results);
const stamp = started.toISOString().replace(/[:.]/g, "-");
mkdirSync(outDir, { recursive: true });
const md = markdown(results);
// latest.md is the newest full run: a run of some scenarios (--only) leaves it as it is.
const full = SCENARIOS.every((s) => only.has(s));
const files = [join(outDir, `${stamp}.json`), join(outDir, `${stamp}.md`), ...(full ? [join(outDir, "latest.md")] : [])];
writeFileSync(files[0] as string, `${JSON.stringify({ ...results, targets }, null, 2)}\n`);
for (const file of files.slice(1)) writeFileSync(file, md);
formatResults(files);
await Bun.write(Bun.stdout, md);
log(`\nwrote ${join(outDir, `${stamp}.md`)} and .json`);
process.exit(errors.length > 0 ? 1 : 0);
