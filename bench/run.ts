/** `bun run bench` / `bun run bench:smoke`: runs every scenario, writes results/<timestamp>.{md,json} and latest.md. */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { describeMachine } from "./lib/machine";
import { judge, markdown, type Profile, type Results } from "./report";
import { runFanout } from "./scenarios/fanout";
import { runIdle } from "./scenarios/idle";
import { type Publisher, runPublish } from "./scenarios/publish";
import { runReplay } from "./scenarios/replay";

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
  },
};
const SCENARIOS = ["fanout", "publish", "idle", "replay", "scaling"] as const;

const { values: flags } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    out: { type: "string" },
    publisher: { type: "string" },
    only: { type: "string" },
    repeats: { type: "string" },
  },
});
const base = PROFILES[flags.smoke ? "smoke" : "full"];
const profile: Profile = flags.repeats ? { ...base, repeats: Number(flags.repeats) } : base;
const only = new Set((flags.only ?? SCENARIOS.join(",")).split(","));
const publisher: Publisher = flags.publisher === "bun" || Bun.which("wrk") === null ? "bun" : "wrk";
const outDir = flags.out ?? join(import.meta.dir, "results", profile.name === "smoke" ? "smoke" : "");
const log = (line: string) => process.stderr.write(`${line}\n`);

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
const fanout = only.has("fanout") ? await runFanout(fanoutSettings(profile.fanoutStreams), log) : undefined;
const publish = only.has("publish")
  ? await runPublish(
      {
        repeats: profile.repeats,
        durationMs: profile.phaseMs,
        warmupMs: profile.warmupMs,
        connections: profile.connections,
        publisher,
      },
      log,
    )
  : undefined;
const idle = only.has("idle")
  ? await runIdle({ streams: profile.idleStreams, holdMs: profile.idleHoldMs, repeats: profile.repeats }, log)
  : undefined;
const replay = only.has("replay") ? await runReplay({ events: profile.replayEvents, repeats: profile.repeats }, log) : undefined;
const bigReplay =
  only.has("replay") && profile.bigReplayEvents > 0
    ? await runReplay({ events: profile.bigReplayEvents, repeats: profile.repeats }, log)
    : undefined;
let scaling: Results["scaling"];
if (only.has("scaling")) {
  scaling = [];
  for (const streams of profile.scalingStreams) {
    // Scenario 1 already measured this size with the same settings.
    scaling.push(fanout?.streams === streams ? fanout : await runFanout(fanoutSettings(streams), log));
  }
}

const results: Results = {
  profile,
  startedAt: started.toISOString(),
  durationS: Math.round((performance.now() - t0) / 1000),
  machine,
  loadAverageAfter: os.loadavg().map((l) => Math.round(l * 100) / 100),
  fanout,
  publish,
  idle,
  replay,
  bigReplay,
  scaling,
};
const targets = judge(results);
const stamp = started.toISOString().replace(/[:.]/g, "-");
mkdirSync(outDir, { recursive: true });
const md = markdown(results);
writeFileSync(join(outDir, `${stamp}.json`), `${JSON.stringify({ ...results, targets }, null, 2)}\n`);
writeFileSync(join(outDir, `${stamp}.md`), md);
writeFileSync(join(outDir, "latest.md"), md);
process.stdout.write(md);
log(`\nwrote ${join(outDir, `${stamp}.md`)} and .json`);
