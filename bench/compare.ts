/**
 * `bun run bench:compare -- <commit>`: Herald at an earlier commit against this checkout, in one run. The same bench
 * code drives both (this checkout's load generator and scenarios, each hub fresh, pinned as in `bun run bench`),
 * the two alternate within each round and swap places from one round to the next, so drift and a busy
 * neighbour weigh on both alike. Only Herald's native API is measured: what every commit being compared speaks.
 *
 *   bun run bench:compare -- d679b5b [--rounds 3] [--only paced,burst,publish,paired,paired-routing,idle,replay,routing]
 *
 * The paired cases run the two side by side instead (bench/scenarios/paired.ts), trading who starts first from one
 * round to the next.
 *
 * The earlier commit is checked out in a temporary git worktree sharing this checkout's node_modules, so it must
 * run on the dependencies installed here. Writes results/<timestamp>-compare-<commit>.md.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatResults } from "./lib/format";
import { killAll, measureHeraldFrom } from "./lib/hubs";
import { describeMachine } from "./lib/machine";
import { median } from "./lib/stats";
import { measureFanout } from "./scenarios/fanout";
import { measureIdle } from "./scenarios/idle";
import { measurePaced } from "./scenarios/paced";
import { measurePaired, type PairedSettings } from "./scenarios/paired";
import { CASES, measurePublish } from "./scenarios/publish";
import { measureReplay } from "./scenarios/replay";
import { measureRouting, NO_HEARTBEAT } from "./scenarios/routing";

const ROOT = join(import.meta.dir, "..");

/** A figure of one case, and which way is better: "neither" for one that says how a run went, not how well. */
interface Figure {
  readonly name: string;
  readonly better: "higher" | "lower" | "neither";
  readonly digits: number;
}

type Case = {
  /** What `--only` names it by. */
  readonly key: "paced" | "burst" | "publish" | "paired" | "paired-routing" | "idle" | "replay" | "routing";
  readonly name: string;
  readonly figures: readonly Figure[];
} & (
  | {
      /** One run against whichever checkout `measureHeraldFrom` names; its figures in `figures`' order. */
      readonly measure: () => Promise<number[]>;
    }
  | {
      /** One run of both checkouts at once, started in the order of `roots`: the figures of each, in that order. */
      readonly measurePair: (roots: readonly [string, string]) => Promise<readonly [number[], number[]]>;
    }
);

const higher = (name: string, digits = 0): Figure => ({ name, better: "higher", digits });
const lower = (name: string, digits = 2): Figure => ({ name, better: "lower", digits });
const neither = (name: string, digits = 2): Figure => ({ name, better: "neither", digits });

/** The full bench's settings (bench/run.ts), but for a 10 s idle hold. */
const STREAMS = 1000;
const SAMPLED = 20;
const PUBLISH = { repeats: 1, durationMs: 5000, warmupMs: 1000, connections: 32, publisher: "bun" } as const;
/** Requests a second to each of the two hubs of a paired case: together well within one core, `full` included. */
const PAIRED_RATE = 5000;
/** Two steps of the paced search (bench/scenarios/paced.ts) that d679b5b and later pass: 3,550 and 4,438/s. */
const SAME_LOAD = [3550, 4438] as const;

const ALL_CASES: readonly Case[] = [
  {
    key: "paced",
    name: "paced fan-out, 1000 streams",
    // The p99 at the highest rate sustained compares two loads when the rates differ; the steps are the same
    // rates on either side (40/s, then a quarter more each), so two of them compare the p99 at one load.
    figures: [
      higher("sustained events/s"),
      lower("p99 ms at that rate", 1),
      lower(`p99 ms at ${SAME_LOAD[0].toLocaleString("en-US")}/s`, 1),
      lower(`p99 ms at ${SAME_LOAD[1].toLocaleString("en-US")}/s`, 1),
    ],
    measure: async () => {
      const run = await measurePaced("herald", "native", {
        streams: STREAMS,
        repeats: 1,
        phaseMs: 3000,
        sampled: SAMPLED,
        step: 1.25,
      });
      const p99At = (rate: number) => {
        const step = run.steps.find((s) => s.ratePerSec === rate);
        return step?.delivered && step.unsent === 0 ? step.receiveP99Ms : Number.POSITIVE_INFINITY;
      };
      return [run.sustainedPerSec, run.receiveP99Ms, ...SAME_LOAD.map(p99At)];
    },
  },
  {
    key: "burst",
    name: "burst fan-out, 1000 streams",
    // Closed-loop bursts keep the load generator's core busy reading: with it near 100%, delivered/s says as much
    // about the chunks it is handed as about the hub, whose own CPU per delivery says how hard it worked.
    figures: [
      higher("delivered/s"),
      lower("p99 ms at 80% of that", 1),
      lower("hub CPU µs per delivery", 3),
      neither("load generator's core busy"),
    ],
    measure: async () => {
      const run = await measureFanout("herald", {
        streams: STREAMS,
        repeats: 1,
        phaseMs: 5000,
        connections: 32,
        sampled: SAMPLED,
      });
      return [
        run.allDelivered ? run.deliveredPerSec : 0,
        run.receiveP99Ms,
        (run.hubCpu * 1e6) / run.deliveredPerSec,
        run.loadgenCpu,
      ];
    },
  },
  ...(["herald-full", "herald-normal", "herald-batch100"] as const).map(
    (name): Case => ({
      key: "publish",
      name: `publish ${name.replace("herald-", "")}, 32 connections`,
      figures: [higher("events/s"), lower("p99 ms")],
      measure: async () => {
        const run = await measurePublish(CASES[name], PUBLISH);
        return [run.allAcked ? run.eventsPerSec : 0, run.p99Ms];
      },
    }),
  ),
  ...(["normal", "full"] as const).map((sync) =>
    pairedCase("paired", `publish ${sync}, ${PAIRED_RATE.toLocaleString("en-US")}/s paced to each of two hubs sharing one core`, {
      sync,
      ratePerSec: PAIRED_RATE,
      warmupMs: 3000,
      phaseMs: 10_000,
      streams: 0,
    }),
  ),
  pairedCase(
    "paired-routing",
    "routing, 5000 streams on exact selectors on each, 500/s paced to each of two hubs sharing one core",
    {
      sync: "full",
      ratePerSec: 500,
      warmupMs: 1000,
      phaseMs: 10_000,
      streams: 5000,
      env: NO_HEARTBEAT,
    },
  ),
  {
    key: "idle",
    name: "idle streams, 5000",
    figures: [lower("KiB per stream after 10 s")],
    measure: async () => {
      const run = await measureIdle("herald", { streams: 5000, holdMs: 10_000, repeats: 1 });
      return [run.allOpen ? run.perStreamAfterHoldKiB : Number.POSITIVE_INFINITY];
    },
  },
  {
    key: "replay",
    name: "replay 100k events",
    figures: [higher("events/s"), lower("RSS growth MB", 1)],
    measure: async () => {
      const run = await measureReplay({ events: 100_000, repeats: 1 });
      return [run.allDelivered ? run.eventsPerSec : 0, run.rssGrowthMb];
    },
  },
  ...(["prefix", "exact", "template"] as const).map(
    (selectors): Case => ({
      key: "routing",
      name: `routing, 5000 streams on ${selectors} selectors`,
      figures: [lower("hub CPU ms per event", 3)],
      measure: async () => {
        const run = await measureRouting(selectors, { streams: 5000, ratePerSec: 500, phaseMs: 5000, repeats: 1 });
        return [run.delivered ? run.hubCpuMsPerEvent : Number.POSITIVE_INFINITY];
      },
    }),
  ),
];

/** Both checkouts at once, side by side (bench/scenarios/paired.ts). */
function pairedCase(key: "paired" | "paired-routing", name: string, settings: PairedSettings): Case {
  return {
    key,
    name,
    figures: [lower("hub CPU µs per request", 2)],
    measurePair: async (roots) => {
      const run = await measurePaired(roots, measureHeraldFrom, settings);
      for (const problem of run.problems) log(`  ${name}: ${problem}`);
      const figures = (k: 0 | 1) => [run.allAcked ? run.cpuUsPerRequest[k] : Number.POSITIVE_INFINITY];
      return [figures(0), figures(1)];
    },
  };
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: "string", default: "3" }, only: { type: "string" } },
});
const before = positionals[0];
const KEYS = [...new Set(ALL_CASES.map((c) => c.key))];
const only = values.only?.split(",");
const unknown = only?.filter((word) => !KEYS.some((key) => key === word)) ?? [];
if (!before || unknown.length > 0) {
  if (unknown.length > 0) process.stderr.write(`no such case: ${unknown.join(", ")}\n`);
  process.stderr.write(`usage: bun run bench:compare -- <commit> [--rounds 3] [--only ${KEYS.join(",")}]\n`);
  process.exit(2);
}
const rounds = Number(values.rounds);
const cases = ALL_CASES.filter((c) => !only || only.some((word) => c.key === word));
const log = (line: string) => process.stderr.write(`${line}\n`);
const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();

const beforeCommit = git("rev-parse", "--short", before);
const afterCommit = `${git("rev-parse", "--short", "HEAD")}${git("status", "--porcelain", "--untracked-files=no") ? " (with uncommitted changes)" : ""}`;
const worktree = mkdtempSync(join(tmpdir(), `herald-${beforeCommit}-`));
git("worktree", "add", "--detach", worktree, beforeCommit);
symlinkSync(join(ROOT, "node_modules"), join(worktree, "node_modules"));
const removeWorktree = () => {
  killAll();
  git("worktree", "remove", "--force", worktree);
  rmSync(worktree, { recursive: true, force: true });
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    removeWorktree();
    process.exit(130);
  });
}

type Side = "before" | "after";
const roots: Record<Side, string> = { before: worktree, after: ROOT };
/** runs[case][side][round] = that run's figures. */
const runs = cases.map(() => ({ before: [] as number[][], after: [] as number[][] }));
const machine = describeMachine();
const started = new Date();
try {
  for (let round = 0; round < rounds; round++) {
    const order: Side[] = round % 2 === 0 ? ["before", "after"] : ["after", "before"];
    for (const [i, c] of cases.entries()) {
      const record = (side: Side, figures: number[]) => {
        runs[i]?.[side].push(figures);
        log(`  round ${round + 1} ${c.name} ${side}: ${figures.map((f, j) => format(f, c.figures[j]?.digits ?? 0)).join(", ")}`);
      };
      if ("measurePair" in c) {
        const [first, second] = order as [Side, Side];
        const [ofFirst, ofSecond] = await c.measurePair([roots[first], roots[second]]);
        record(first, ofFirst);
        record(second, ofSecond);
        continue;
      }
      for (const side of order) {
        measureHeraldFrom(roots[side]);
        record(side, await c.measure().catch((error: unknown) => failed(c, side, error)));
      }
    }
  }
} finally {
  removeWorktree();
}

/**
 * A run that throws (an earlier commit without the route a case needs, a hub that never came up) is that side's
 * failure, shown as such, rather than the end of every other case.
 */
function failed(c: Case, side: Side, error: unknown): number[] {
  log(`  ${c.name} ${side} failed: ${error instanceof Error ? error.message : String(error)}`);
  return c.figures.map((f) => (f.better === "higher" ? 0 : Number.POSITIVE_INFINITY));
}

function format(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toLocaleString("en-US", { maximumFractionDigits: digits }) : "failed";
}

/** After over before, turned so that above 1 is always better. */
function gain(figure: Figure, b: number, a: number): string {
  if (figure.better === "neither" || !Number.isFinite(a) || !Number.isFinite(b) || a === 0 || b === 0) return "";
  return `${(figure.better === "higher" ? a / b : b / a).toFixed(2)}×`;
}

const rows: string[] = [];
for (const [i, c] of cases.entries()) {
  for (const [j, figure] of c.figures.entries()) {
    const of = (side: Side) => runs[i]?.[side].map((r) => r[j] ?? Number.NaN) ?? [];
    const b = median(of("before"));
    const a = median(of("after"));
    const all = (side: Side) =>
      of(side)
        .map((v) => format(v, figure.digits))
        .join(" / ");
    rows.push(
      `| ${c.name} | ${figure.name} | ${format(b, figure.digits)} | ${format(a, figure.digits)} | ${gain(figure, b, a)} | ${all("before")} | ${all("after")} |`,
    );
  }
}
const report = [
  `# Herald ${beforeCommit} (before) against ${afterCommit} (after), ${started.toISOString()}`,
  "",
  `${machine.cores} cores, ${machine.cpu}, Bun ${machine.bun}, load average before ${machine.loadAverage.join(" ")}. ` +
    `${rounds} rounds, the two alternating (in a paired case, side by side, trading who starts first), medians shown. ` +
    "Gain is after over before, turned so that above 1.00× is better (for a figure where lower is better, before over after).",
  "",
  "| case | figure | before | after | gain | before, each round | after, each round |",
  "| --- | --- | ---: | ---: | ---: | --- | --- |",
  ...rows,
  "",
].join("\n");
const outDir = join(import.meta.dir, "results");
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `${started.toISOString().replace(/[:.]/g, "-")}-compare-${beforeCommit}.md`);
writeFileSync(file, report);
formatResults([file]);
process.stdout.write(`${report}\nwrote ${file}\n`);
