/** The bench report: targets judged from the results, and the Markdown written beside the JSON. */
import type { Machine } from "./lib/machine";
import type { ClusterResult } from "./scenarios/cluster";
import type { FanoutResult, FanoutRun } from "./scenarios/fanout";
import type { IdleResult } from "./scenarios/idle";
import { P99_BOUND_MS, type PacedResult } from "./scenarios/paced";
import type { PresenceResult } from "./scenarios/presence";
import type { PublishCase, PublishResult } from "./scenarios/publish";
import type { ReplayRun } from "./scenarios/replay";
import type { RoutingResult } from "./scenarios/routing";
import type { WorkersResult } from "./scenarios/workers";

/** A load generator above this share of its core may have been what limited a run. */
const LOADGEN_BUSY = 0.85;

export interface Profile {
  readonly name: "full" | "smoke";
  readonly repeats: number;
  readonly phaseMs: number;
  readonly warmupMs: number;
  readonly connections: number;
  readonly fanoutStreams: number;
  readonly scalingStreams: readonly number[];
  readonly sampledStreams: number;
  readonly idleStreams: number;
  readonly idleHoldMs: number;
  readonly replayEvents: number;
  /** 0 skips the large replay. */
  readonly bigReplayEvents: number;
  /** Events published to measure Redis memory per retained event. */
  readonly clusterMemoryEvents: number;
  /** Streams, each on a selector of its own, in the routing scenario. */
  readonly routingStreams: number;
  /** The paced rate at which 1 and 2 workers are compared (CPU per delivered event). */
  readonly workersRatePerSec: number;
  /** XADDs redis-benchmark sends beside the durable publish. */
  readonly redisRequests: number;
  /** Publishes per second, paced, in the presence scenario's quiet and storm phases. */
  readonly presenceRate: number;
  /** Streams opened (and closed half a second later) per second during its storm. */
  readonly presenceConnectsPerSec: number;
}

export interface Results {
  readonly profile: Profile;
  readonly startedAt: string;
  readonly durationS: number;
  readonly machine: Machine;
  readonly loadAverageAfter: readonly number[];
  readonly paced?: PacedResult;
  readonly fanout?: FanoutResult;
  readonly publish?: PublishResult;
  readonly idle?: IdleResult;
  readonly replay?: { readonly median: ReplayRun; readonly runs: ReplayRun[] };
  readonly bigReplay?: { readonly median: ReplayRun; readonly runs: ReplayRun[] };
  readonly scaling?: FanoutResult[];
  readonly routing?: RoutingResult;
  readonly cluster?: ClusterResult;
  readonly workers?: WorkersResult;
  readonly presence?: PresenceResult;
  /** Scenarios that failed, with why. */
  readonly errors: readonly string[];
}

export interface Target {
  readonly name: string;
  readonly goal: string;
  readonly measured: string;
  /** null: not measured in this run. */
  readonly met: boolean | null;
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a");
const fix = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const pct = (share: number) => (Number.isFinite(share) ? `${Math.round(share * 100)}%` : "n/a");
const yes = (ok: boolean) => (ok ? "yes" : "**NO**");

export function judge(r: Results): Target[] {
  const out: Target[] = [];
  const pc = r.paced;
  out.push({
    name: `Paced fan-out to ${pc?.streams ?? r.profile.fanoutStreams} streams: highest rate sustained, one event at a time, every event delivered, p99 ≤ ${P99_BOUND_MS} ms, vs baseline`,
    goal: "≥ 1.5×",
    measured: pc
      ? `${fix(pc.ratio)}× (${int(pc.herald.sustainedPerSec)}/s, ${int(pc.herald.deliveredPerSec)} delivered/s, p99 ${fix(pc.herald.receiveP99Ms, 1)} ms, vs ${int(pc.baseline.sustainedPerSec)}/s, p99 ${fix(pc.baseline.receiveP99Ms, 1)} ms)`
      : "not run",
    met: pc ? pc.ratio >= 1.5 : null,
  });
  const f = r.fanout;
  out.push({
    name: `Burst fan-out (closed-loop publishers at saturation, batching allowed) delivered events/s vs baseline, ${f?.streams ?? r.profile.fanoutStreams} streams`,
    goal: "≥ 1.5×, every event delivered",
    measured: f ? `${fix(f.ratio)}× (${int(f.herald.deliveredPerSec)} vs ${int(f.baseline.deliveredPerSec)}/s)` : "not run",
    met: f ? f.ratio >= 1.5 && f.herald.allDelivered : null,
  });
  out.push({
    name: "Every event delivered to every stream (Herald, all fan-out runs)",
    goal: "all",
    measured: f ? `${f.herald.allDelivered ? "all" : `missing ${int(f.herald.missing)}`}` : "not run",
    met: f ? [f, ...(r.scaling ?? [])].every((s) => s.herald.allDelivered) : null,
  });
  out.push({
    name: "Fan-out p99 publish-to-receive at 80% of capacity",
    goal: "< 100 ms",
    measured: f ? `${fix(f.herald.receiveP99Ms, 1)} ms at ${int(f.herald.latencyRatePerSec)} publishes/s` : "not run",
    met: f ? f.herald.receiveP99Ms < 100 : null,
  });
  const p = r.publish;
  out.push({
    name: "Publish acked/s vs in-memory baseline, HERALD_SYNC=full",
    goal: "≥ 0.8×",
    measured: p
      ? `${fix(p.ratioFull)}× (${int(p.cases["herald-full"].eventsPerSec)} vs ${int(p.cases["baseline-memory"].eventsPerSec)}/s)`
      : "not run",
    met: p ? p.ratioFull >= 0.8 && p.cases["herald-full"].allAcked : null,
  });
  out.push({
    name: "Batches of 100 (POST /events), HERALD_SYNC=full",
    goal: "≥ 300,000 events/s",
    measured: p ? `${int(p.cases["herald-batch100"].eventsPerSec)} events/s` : "not run",
    met: p ? p.cases["herald-batch100"].eventsPerSec >= 300_000 : null,
  });
  const i = r.idle;
  out.push({
    name: `Idle RSS per stream at ${i?.streams ?? r.profile.idleStreams} streams, all open after ${(r.profile.idleHoldMs / 1000).toFixed(0)} s`,
    goal: "≤ 8 KiB, all open",
    measured: i ? `${fix(i.heraldPerStreamKiB)} KiB, ${i.herald.openAfterHold} open` : "not run",
    met: i ? i.heraldPerStreamKiB <= 8 && i.herald.allOpen : null,
  });
  const rp = r.replay?.median;
  out.push({
    name: `Replay of ${int(rp?.events ?? r.profile.replayEvents)} events from Last-Event-ID 0`,
    goal: "≥ 500,000 events/s",
    measured: rp ? `${int(rp.eventsPerSec)} events/s${rp.allDelivered ? "" : " (INCOMPLETE)"}` : "not run",
    met: rp ? rp.eventsPerSec >= 500_000 && rp.allDelivered : null,
  });
  const big = r.bigReplay?.median;
  out.push({
    name: `Hub RSS growth during a ${int(big?.events ?? 1_000_000)}-event replay`,
    goal: "< 50 MB",
    measured: big ? `${fix(big.rssGrowthMb, 1)} MB (${int(big.eventsPerSec)} events/s)` : "not run (full run only)",
    met: big ? big.rssGrowthMb < 50 && big.allDelivered : null,
  });
  const ro = r.routing;
  out.push({
    name: `Hub CPU per event, ${int(ro?.streams ?? r.profile.routingStreams)} streams each on its own prefix (\`u.<k>.*\`) vs each on its own topic`,
    goal: "≤ 1.2×, every event delivered",
    measured: ro
      ? `${fix(ro.ratio)}× (${fix(ro.prefix.hubCpuMsPerEvent, 3)} vs ${fix(ro.exact.hubCpuMsPerEvent, 3)} ms at ${int(ro.ratePerSec)} events/s)`
      : "not run",
    met: ro ? ro.ratio <= 1.2 && ro.prefix.delivered && ro.exact.delivered : null,
  });
  out.push({
    name: `Hub CPU per event, ${int(ro?.streams ?? r.profile.routingStreams)} Mercure streams each on its own URI template (\`u.<k>.{kind}\`) vs each on its own topic`,
    goal: "≤ 1.2×, every event delivered",
    measured: ro
      ? `${fix(ro.templateRatio)}× (${fix(ro.template.hubCpuMsPerEvent, 3)} vs ${fix(ro.exact.hubCpuMsPerEvent, 3)} ms at ${int(ro.ratePerSec)} events/s)`
      : "not run",
    met: ro ? ro.templateRatio <= 1.2 && ro.template.delivered && ro.exact.delivered : null,
  });
  const w = r.workers?.sharing;
  out.push({
    name: `Hub CPU per delivered event, every thread summed, 2 workers vs 1, paced fan-out to ${int(r.profile.fanoutStreams)} streams`,
    goal: "≤ 1.25×, every event delivered",
    measured: w
      ? `${fix(w.ratio)}× (${fix(w.two.cpuUsPerDelivery, 3)} vs ${fix(w.one.cpuUsPerDelivery, 3)} µs at ${int(w.one.ratePerSec)} events/s)`
      : "not run",
    met: w ? w.ratio <= 1.25 && w.one.delivered && w.two.delivered : null,
  });
  const pr = r.presence?.median;
  out.push({
    name: `Publish p99 through a connect storm (${int(r.profile.presenceConnectsPerSec)} connects/s) vs quiet, same run, every event delivered`,
    goal: "≤ 2×",
    measured: pr
      ? `${fix(pr.p99Ratio)}× (${fix(pr.storm.publishP99Ms)} vs ${fix(pr.quiet.publishP99Ms)} ms, ${int(pr.connectsPerSec)} connects/s)`
      : "not run",
    met: pr ? pr.p99Ratio <= 2 && pr.storm.delivered && pr.quiet.delivered : null,
  });
  return out;
}

function fanoutRows(label: string, run: FanoutRun): string {
  return `| ${label} | ${int(run.deliveredPerSec)} | ${int(run.ackedPerSec)} | ${int(run.drainMs)} | ${yes(run.allDelivered)} | ${int(run.latencyRatePerSec)} | ${fix(run.receiveP50Ms)} / ${fix(run.receiveP99Ms)} | ${fix(run.ackP50Ms)} / ${fix(run.ackP99Ms)} | ${pct(run.hubCpu)} | ${pct(run.loadgenCpu)} | ${fix(run.hubRssMb, 0)} |`;
}

const FANOUT_HEAD = `| hub | delivered events/s | publishes acked/s | drain ms | all delivered | latency phase publishes/s | receive p50 / p99 ms | ack p50 / p99 ms | hub CPU | loadgen CPU | hub RSS MB |
|---|---|---|---|---|---|---|---|---|---|---|`;

function busyRuns(r: Results): string[] {
  const runs: Array<[string, number, string]> = [];
  const late: string[] = [];
  // Scaling reuses scenario 1's result at its size: list each run once.
  for (const f of new Set([r.fanout, ...(r.scaling ?? [])])) {
    if (!f) continue;
    for (const [hub, list] of [
      ["Herald", f.runs.herald],
      ["baseline", f.runs.baseline],
    ] as const) {
      for (const [i, run] of list.entries()) {
        // Streams that keep up get the last event within a few ms of its acknowledgement.
        const kept = run.drainMs < 100 ? "the streams kept up" : "the streams fell behind";
        runs.push([`fan-out ${f.streams} ${hub} #${i + 1}`, run.loadgenCpu, `drain ${int(run.drainMs)} ms: ${kept}`]);
        if (run.unsent > 0)
          late.push(
            `fan-out ${f.streams} ${hub} #${i + 1}: ${int(run.unsent)} latency-phase publishes never left the client (the hub fell behind 80% of its capacity).`,
          );
      }
    }
  }
  for (const [name, list] of Object.entries(r.publish?.runs ?? {})) {
    for (const [i, run] of list.entries()) runs.push([`publish ${name} #${i + 1}`, run.loadgenCpu, `hub CPU ${pct(run.hubCpu)}`]);
  }
  const busy = runs
    .filter(([, cpu]) => cpu > LOADGEN_BUSY)
    .map(([label, cpu, context]) => `${label}: load generator at ${pct(cpu)} of its core (${context}).`);
  return [...busy, ...late];
}

export function markdown(r: Results): string {
  const m = r.machine;
  const lines: string[] = [];
  const add = (...l: string[]) => lines.push(...l);
  add(`# Herald benchmark: ${r.profile.name} run, ${r.startedAt}`, "");
  if (r.profile.name === "smoke")
    add("A smoke run: tiny sizes and 1 s phases. It shows the harness works; its figures are not the targets' scale.", "");
  add("| machine | |", "|---|---|");
  add(`| CPU | ${m.cpu}, ${m.cores} cores |`, `| RAM | ${m.ramGiB} GiB |`, `| kernel | ${m.kernel} |`, `| OS | ${m.os} |`);
  add(`| Bun | ${m.bun} |`, `| wrk | ${m.wrk ?? "not installed (Bun publisher)"} |`, `| temp dir filesystem | ${m.tmpFs} |`);
  add(`| pinning | ${m.pinned ? "hub on core 0, load generator on core 1 (taskset)" : "none (no taskset)"} |`);
  add(`| open-file limit | ${m.fdLimit} |`);
  add(
    `| commit | ${m.commit} |`,
    `| load average before / after | ${m.loadAverage.join(" ")} / ${r.loadAverageAfter.join(" ")} |`,
  );
  add(
    `| repeats | ${r.profile.repeats} per figure (medians shown), ${r.profile.phaseMs / 1000} s phases, ${r.durationS} s in all |`,
    "",
  );
  add("## Targets", "", "| target | goal | measured | met |", "|---|---|---|---|");
  for (const t of judge(r))
    add(`| ${t.name} | ${t.goal} | ${t.measured} | ${t.met === null ? "not run" : t.met ? "met" : "**not met**"} |`);
  add("");
  if (r.paced) {
    const pc = r.paced;
    add(`## Paced fan-out: ${pc.streams} streams, events one at a time, open loop`, "");
    add(
      `Each step publishes single events at a fixed rate (each due at its time, whatever the hub answers) for a few seconds; it passes when every stream got every event, no publish fell behind its due time, and the publish-to-receive p99 stayed within ${P99_BOUND_MS} ms. Rates rise step by step (by a quarter in a full run) until one fails. The figure is the last rate that passed: **${fix(pc.ratio)}×** the baseline's.`,
      "",
      `Herald on Mercure (the streams subscribe with \`match=\` on /.well-known/mercure, each event is a form POST there) sustains **${fix(pc.mercureRatio)}×** its native rate (\`/stream\` and \`POST /topics/{topic}/events\`).`,
      "",
      "| hub | sustained publishes/s | delivered events/s | receive p50 / p99 ms | hub CPU | steps (rate: p99 ms, pass) |",
      "|---|---|---|---|---|---|",
    );
    for (const [label, run] of [
      ["Herald", pc.herald],
      ["Herald, Mercure", pc.mercure],
      ["baseline (in memory)", pc.baseline],
    ] as const) {
      const steps = run.steps.map((s) => `${s.ratePerSec}: ${fix(s.receiveP99Ms, 1)}${s.passed ? "" : " ✗"}`).join(", ");
      add(
        `| ${label} | ${int(run.sustainedPerSec)} | ${int(run.deliveredPerSec)} | ${fix(run.receiveP50Ms, 1)} / ${fix(run.receiveP99Ms, 1)} | ${pct(run.hubCpu)} | ${steps} |`,
      );
    }
    add("");
  }
  if (r.fanout) {
    add(`## 1. Burst fan-out: ${r.fanout.streams} streams on one topic, ~100-byte events, HERALD_SYNC=full`, "");
    add(
      `Herald / baseline delivered events/s: **${fix(r.fanout.ratio)}×**. Capacity phase: ${r.profile.connections} publishing connections as fast as acknowledged; delivered/s counts from the first publish to the last event reaching the last stream. Drain: from the last acknowledgement to the last delivery (small when the streams keep up). Latency phase: open loop at 80% of that capacity over ${r.profile.connections * 4} connections, publish-to-receive measured on ${r.profile.sampledStreams} streams.`,
      "",
    );
    add(FANOUT_HEAD, fanoutRows("Herald", r.fanout.herald), fanoutRows("baseline (in memory)", r.fanout.baseline), "");
  }
  if (r.publish) {
    const p = r.publish;
    add(`## 2. Publish: ${r.profile.connections} connections, no subscribers (${p.publisher})`, "");
    add(
      `Herald full / in-memory baseline: **${fix(p.ratioFull)}×**; normal / baseline: ${fix(p.ratioNormal)}×; full keeps ${pct(p.fullOverNormal)} of normal's throughput (group commit). Mercure (herald-mercure: one form POST per event on /.well-known/mercure, full sync) / native (herald-full): **${fix(p.mercureOverNative)}×**.`,
      "",
    );
    add("| case | events/s | requests/s | p50 / p99 ms | all acked | hub CPU | loadgen CPU |", "|---|---|---|---|---|---|---|");
    for (const [name, c] of Object.entries(p.cases) as [PublishCase, PublishResult["cases"][PublishCase]][]) {
      add(
        `| ${name} | ${int(c.eventsPerSec)} | ${int(c.requestsPerSec)} | ${fix(c.p50Ms)} / ${fix(c.p99Ms)} | ${yes(c.allAcked)} | ${pct(c.hubCpu)} | ${pct(c.loadgenCpu)} |`,
      );
    }
    add("");
  }
  if (r.idle) {
    const i = r.idle;
    add(`## 3. Idle streams: ${i.streams} streams held ${i.holdMs / 1000} s`, "");
    add(
      "| hub | RSS before MB | KiB/stream after 1 s | KiB/stream after hold | open after hold | hub's count |",
      "|---|---|---|---|---|---|",
    );
    for (const [label, run] of [
      ["Herald", i.herald],
      ["baseline (in memory)", i.baseline],
    ] as const) {
      add(
        `| ${label} | ${fix(run.rssBeforeMb, 1)} | ${fix(run.perStreamAtOpenKiB)} | ${fix(run.perStreamAfterHoldKiB)} | ${run.openAfterHold} | ${run.hubSubscribers} |`,
      );
    }
    add("");
  }
  if (r.replay) {
    add("## 4. Replay from Last-Event-ID 0 to one client", "");
    add(
      "| events | replay events/s | all delivered | hub RSS growth MB | hub CPU | loadgen CPU | seeding events/s (batches of 1000) |",
      "|---|---|---|---|---|---|---|",
    );
    for (const run of [r.replay.median, r.bigReplay?.median]) {
      if (run)
        add(
          `| ${int(run.events)} | ${int(run.eventsPerSec)} | ${yes(run.allDelivered)} | ${fix(run.rssGrowthMb, 1)} | ${pct(run.hubCpu)} | ${pct(run.loadgenCpu)} | ${int(run.seedEventsPerSec)} |`,
        );
    }
    add("");
  }
  if (r.scaling) {
    add(
      "## 5. Scaling: fan-out by stream count",
      "",
      "Publish ack latency is measured in the 80% phase, while every stream receives.",
      "",
    );
    add(
      "| streams | Herald delivered/s | baseline delivered/s | ratio | Herald all delivered | Herald receive p99 ms | Herald ack p50 / p99 ms | baseline ack p50 / p99 ms |",
      "|---|---|---|---|---|---|---|---|",
    );
    for (const s of r.scaling) {
      add(
        `| ${s.streams} | ${int(s.herald.deliveredPerSec)} | ${int(s.baseline.deliveredPerSec)} | ${fix(s.ratio)}× | ${yes(s.herald.allDelivered)} | ${fix(s.herald.receiveP99Ms, 1)} | ${fix(s.herald.ackP50Ms)} / ${fix(s.herald.ackP99Ms)} | ${fix(s.baseline.ackP50Ms)} / ${fix(s.baseline.ackP99Ms)} |`,
      );
    }
    add("");
  }
  if (r.routing) routingSection(r.routing, add);
  if (r.cluster) clusterSection(r.cluster, r.profile, add);
  if (r.workers) workersSection(r.workers, r.profile, add);
  if (r.presence) presenceSection(r.presence, add);
  const notes = busyRuns(r);
  add("## Notes", "", ...(notes.length > 0 ? notes.map((n) => `- ${n}`) : ["- No load generator was above 85% of its core."]));
  add("- CPU shares are of one core; every figure is the median of the runs listed in the JSON file beside this one.", "");
  return lines.join("\n");
}

function routingSection(ro: RoutingResult, add: (...l: string[]) => void): void {
  add(`## Routing: ${int(ro.streams)} streams, each on a selector of its own`, "");
  add(
    `Single events at ${int(ro.ratePerSec)}/s, open loop, to the users in turn, so each reaches one stream; heartbeats off. Hub CPU (user + system) from the first publish of the phase to the last delivery, over its events. With prefixes, **${fix(ro.ratio)}×** the CPU per event of exact topics; with URI templates (Mercure streams), **${fix(ro.templateRatio)}×**.`,
    "",
    "| selectors | hub CPU ms per event | events | all delivered |",
    "|---|---|---|---|",
  );
  for (const [label, run] of [
    ["prefix `u.<k>.*`", ro.prefix],
    ["exact `u.<k>.feed`", ro.exact],
    ["template `u.<k>.{kind}` (Mercure)", ro.template],
  ] as const) {
    add(`| ${label} | ${fix(run.hubCpuMsPerEvent, 3)} | ${int(run.events)} | ${yes(run.delivered)} |`);
  }
  add("");
}

function clusterSection(c: ClusterResult, profile: Profile, add: (...l: string[]) => void): void {
  add("## 6. Cluster mode: the Redis log", "");
  add(
    `Publish as in scenario 2 (${profile.connections} connections, no subscribers), each node on a fresh redis-server on this machine; compare with herald-full / herald-normal / herald-batch100 there.`,
    "",
    "| case | events/s | requests/s | p50 / p99 ms | all acked | hub CPU |",
    "|---|---|---|---|---|---|",
  );
  for (const [name, p] of Object.entries(c.publish)) {
    add(
      `| ${name} | ${int(p.eventsPerSec)} | ${int(p.requestsPerSec)} | ${fix(p.p50Ms)} / ${fix(p.p99Ms)} | ${yes(p.allAcked)} | ${pct(p.hubCpu)} |`,
    );
  }
  add(
    "",
    `Fan-out as in scenario 1 with the Redis log (appendfsync always): the same streams on one node, then split over two nodes with every publish on the first, so half the streams receive across nodes. Both nodes share core 0 here: the two-node row shows what the tail costs, not what a second machine adds.`,
    "",
    FANOUT_HEAD,
    fanoutRows("one node", c.fanout.oneNode),
    fanoutRows("two nodes", c.fanout.twoNodes),
    "",
    `Redis memory per retained event: **${int(c.memory.bytesPerEvent)} bytes** for events whose data is ${c.memory.dataBytesPerEvent} bytes (${int(c.memory.events)} events in batches of 100; used_memory growth).`,
    "",
  );
}

function workersSection(w: WorkersResult, profile: Profile, add: (...l: string[]) => void): void {
  add("## Every core: 1 worker against 2", "");
  add(
    `The hub with \`HERALD_WORKERS=2\` is pinned to every core but the load generator's (on a machine of two cores, to both: it shares core 1 with the load generator); with 1 it stays on core 0. Sharing: ${int(profile.fanoutStreams)} streams, single events at ${int(w.sharing.one.ratePerSec)}/s open loop, the hub's CPU (every thread) from the first publish of the phase to the last delivery, over its deliveries. 2 workers cost **${fix(w.sharing.ratio)}×** the CPU per delivery of 1.`,
    "",
    "| workers | CPU µs per delivery | deliveries | receive p50 / p99 ms | all delivered |",
    "|---|---|---|---|---|",
  );
  for (const run of [w.sharing.one, w.sharing.two]) {
    add(
      `| ${run.workers} | ${fix(run.cpuUsPerDelivery, 3)} | ${int(run.deliveries)} | ${fix(run.receiveP50Ms, 1)} / ${fix(run.receiveP99Ms, 1)} | ${yes(run.delivered)} |`,
    );
  }
  const p = w.publish;
  add(
    "",
    `Durable publish: ${profile.connections} connections, single events, no subscribers, \`HERALD_SYNC=full\`; beside them bare Bun in memory, and redis-benchmark's XADD of the same data over ${profile.connections} connections to a Redis with \`appendfsync always\`.`,
    "",
    "| case | events/s | p50 / p99 ms | all acked | hub CPU |",
    "|---|---|---|---|---|",
  );
  for (const [label, run] of [
    ["Herald, 1 worker", p.one],
    ["Herald, 2 workers", p.two],
    ["bare Bun, in memory", p.bareBun],
  ] as const) {
    add(
      `| ${label} | ${int(run.eventsPerSec)} | ${fix(run.p50Ms)} / ${fix(run.p99Ms)} | ${yes(run.allAcked)} | ${pct(run.hubCpu)} |`,
    );
  }
  add(
    p.redisXadd
      ? `| redis-benchmark XADD, appendfsync always | ${int(p.redisXadd.requestsPerSec)} | ${fix(p.redisXadd.p50Ms)} / n/a | n/a | n/a |`
      : "| redis-benchmark XADD | not installed | | | |",
  );
  add(
    "",
    `Replay: ${w.replay.clients} clients from Last-Event-ID 0 at once, ${int(w.replay.one.events)} events each; events/s counts every client's.`,
    "",
    "| workers | events/s | all delivered | hub RSS growth MB | hub CPU |",
    "|---|---|---|---|---|",
  );
  for (const [workers, run] of [
    [1, w.replay.one],
    [2, w.replay.two],
  ] as const) {
    add(`| ${workers} | ${int(run.eventsPerSec)} | ${yes(run.allDelivered)} | ${fix(run.rssGrowthMb, 1)} | ${pct(run.hubCpu)} |`);
  }
  add("");
  projection(w, profile, add);
}

const BOUND = { writer: "the writer thread", cores: "the cores (workers)" } as const;

function projection(w: WorkersResult, profile: Profile, add: (...l: string[]) => void): void {
  const { threads: t } = w;
  const streams = profile.fanoutStreams;
  add(
    "### Beyond two cores: a projection",
    "",
    `The 2-worker runs' hub CPU by thread (\`/proc/<pid>/task/<tid>/stat\`), µs per event: the main thread (the log's writer and the coordinator), the Worker threads summed, and the rest (Bun's pool, the collector, the JIT). Projected, the load generator elsewhere: events/s ≤ 1 / the main thread's µs per event (one thread, Amdahl's serial part), and ≤ cores / every thread's (the workers run on every core, the writer's spare time included). Each worker also takes every commit, so at more workers this is a ceiling; see bench/README.md.`,
    "",
    "| 2 workers | main µs/event | workers µs/event | pool and runtime µs/event |",
    "|---|---|---|---|",
  );
  for (const [label, cost] of [
    [`durable publish (${profile.connections} connections)`, t.publish],
    [`fan-out to ${int(streams)} streams at ${int(w.sharing.two.ratePerSec)}/s`, t.sharing],
  ] as const) {
    add(`| ${label} | ${fix(cost.main, 1)} | ${fix(cost.workers, 1)} | ${fix(cost.helpers, 1)} |`);
  }
  add("", "| cores | durable publish events/s | bound | fan-out events/s (deliveries/s) | bound |", "|---|---|---|---|---|");
  for (const { publish: p, sharing: f } of t.projection) {
    add(
      `| ${p.cores} | ${int(p.eventsPerSec)} | ${BOUND[p.bound]} | ${int(f.eventsPerSec)} (${int(f.eventsPerSec * streams)}) | ${BOUND[f.bound]} |`,
    );
  }
  add("");
}

function presenceSection(p: PresenceResult, add: (...l: string[]) => void): void {
  const { settings: s, median: m } = p;
  add("## 7. Presence: a connect storm", "");
  add(
    `${s.streams} streams read the published topic while ${s.ratePerSec} publishes/s go out, paced, for ${s.phaseMs / 1000} s quiet, then ${s.phaseMs / 1000} s while ${s.connectsPerSec} streams a second connect (each on a topic of its own) and disconnect ${s.holdMs} ms after their response began, in the same run on one hub (SQLite, HERALD_SYNC=full). Presence registers and forgets each one in memory, never in the log. Storm publish p99 over quiet: **${fix(m.p99Ratio)}×**; ${int(m.connectsPerSec)} connects/s achieved (p99 ${fix(m.connectP99Ms, 1)} ms to the response head), ${int(m.connectFailures)} failed.`,
    "",
    "| phase | publish p50 / p99 ms | receive p99 ms | acked | all delivered | errors | hub CPU |",
    "|---|---|---|---|---|---|---|",
  );
  for (const [label, phase] of [
    ["quiet", m.quiet],
    ["storm", m.storm],
  ] as const) {
    add(
      `| ${label} | ${fix(phase.publishP50Ms)} / ${fix(phase.publishP99Ms)} | ${fix(phase.receiveP99Ms, 1)} | ${int(phase.acked)} | ${yes(phase.delivered)} | ${int(phase.errors)} | ${pct(phase.hubCpu)} |`,
    );
  }
  add("");
}
