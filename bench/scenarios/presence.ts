/**
 * Presence under a connect storm: publish latency and publish-to-receive latency at a paced rate, first quiet,
 * then while streams connect and disconnect as fast as the storm asks, in one run on one hub. Presence is never
 * written to the log, so the storm should cost publishers and readers little.
 */
import type { Socket } from "bun";
import { postRequest, publish, type Target } from "../lib/http-client";
import { runStreamsJob } from "../lib/hubs";
import { publishBody, TOPIC } from "../lib/payload";
import { cpuMeter } from "../lib/proc";
import { medianOf, percentiles } from "../lib/stats";
import { StreamGroup } from "../lib/streams";

export interface PresenceJob {
  readonly kind: "presence";
  readonly target: Target;
  readonly hubPid: number;
  /** Streams on the published topic, reading throughout. */
  readonly streams: number;
  readonly sampled: number;
  readonly ratePerSec: number;
  readonly phaseMs: number;
  /** Streams opened per second during the storm, each on a topic of its own. */
  readonly connectsPerSec: number;
  /** How long each storm stream stays open once its response has begun. */
  readonly holdMs: number;
}

export interface PresencePhase {
  readonly publishP50Ms: number;
  readonly publishP99Ms: number;
  readonly receiveP99Ms: number;
  /** Publishes acknowledged, and whether every reading stream got every one. */
  readonly acked: number;
  readonly delivered: boolean;
  readonly errors: number;
  readonly hubCpu: number;
}

export interface PresenceRun {
  readonly quiet: PresencePhase;
  readonly storm: PresencePhase;
  /** Storm streams that got their response head, per second of the storm. */
  readonly connectsPerSec: number;
  /** Storm streams refused or cut before their head. */
  readonly connectFailures: number;
  readonly connectP99Ms: number;
  /** The storm's publish p99 over the quiet one's. */
  readonly p99Ratio: number;
}

/** The storm: a stream every 1/rate s (a tick's worth at a time), each closed `holdMs` after its head arrived. */
async function storm(job: PresenceJob): Promise<{ opened: number; failed: number; connectMs: number[] }> {
  const connectMs: number[] = [];
  let opened = 0;
  let failed = 0;
  let n = 0;
  const open = () => {
    const started = performance.now();
    const request = Buffer.from(
      `GET /stream?topic=storm.${n++} HTTP/1.1\r\nHost: ${job.target.host}:${job.target.port}\r\nAccept: text/event-stream\r\n\r\n`,
    );
    let headed = false;
    void Bun.connect<undefined>({
      hostname: job.target.host,
      port: job.target.port,
      socket: {
        open: (socket: Socket<undefined>) => {
          socket.write(request);
        },
        data: (socket: Socket<undefined>, chunk: Buffer) => {
          if (headed) return;
          headed = true;
          if (!chunk.toString("latin1", 0, 12).endsWith("200")) failed++;
          else {
            opened++;
            connectMs.push(performance.now() - started);
          }
          setTimeout(() => socket.end(), job.holdMs);
        },
        close: () => {
          if (!headed) failed++;
        },
        connectError: () => {
          failed++;
        },
      },
    }).catch(() => undefined);
  };
  const TICK_MS = 10;
  const end = performance.now() + job.phaseMs;
  let due = 0;
  for (let t = performance.now(); t < end; t = performance.now()) {
    due += (job.connectsPerSec * TICK_MS) / 1000;
    for (; due >= 1; due--) open();
    await Bun.sleep(TICK_MS);
  }
  // The last ones opened get their head and close.
  await Bun.sleep(job.holdMs + 500);
  return { opened, failed, connectMs };
}

/** In the load generator: a quiet phase, then the same publishing through a storm. */
export async function presenceClient(job: PresenceJob): Promise<PresenceRun> {
  const { target } = job;
  const set = await StreamGroup.open([target], job.streams, { path: `/stream?topic=${TOPIC}`, sampled: job.sampled });
  const request = (t: number) => postRequest(target, `/topics/${TOPIC}/events`, publishBody(t));
  let expected = 0;
  const phase = async (during?: Promise<unknown>): Promise<PresencePhase> => {
    set.recordFrom = performance.now();
    const earlier = set.latenciesMs.length;
    const hubCpu = cpuMeter(job.hubPid);
    const run = await publish(target, { connections: 64, durationMs: job.phaseMs, ratePerSec: job.ratePerSec }, request);
    const cpu = hubCpu();
    await during;
    expected += run.acked;
    const delivered = await set.waitFor(expected);
    const ack = percentiles(run.latenciesMs);
    return {
      publishP50Ms: ack.p50,
      publishP99Ms: ack.p99,
      receiveP99Ms: percentiles(set.latenciesMs.slice(earlier)).p99,
      acked: run.acked,
      delivered,
      errors: run.errors + run.unsent,
      hubCpu: cpu,
    };
  };
  const quiet = await phase();
  const storming = storm(job);
  const stormy = await phase(storming);
  const { opened, failed, connectMs } = await storming;
  set.close();
  return {
    quiet,
    storm: stormy,
    connectsPerSec: (opened * 1000) / job.phaseMs,
    connectFailures: failed,
    connectP99Ms: percentiles(connectMs).p99,
    p99Ratio: stormy.publishP99Ms / quiet.publishP99Ms,
  };
}

export interface PresenceSettings {
  readonly repeats: number;
  readonly phaseMs: number;
  readonly streams: number;
  readonly sampled: number;
  readonly ratePerSec: number;
  readonly connectsPerSec: number;
  readonly holdMs: number;
}

export interface PresenceResult {
  readonly settings: PresenceSettings;
  readonly median: PresenceRun;
  readonly runs: PresenceRun[];
}

/** In the runner: Herald alone (the baseline has no presence), `repeats` times. */
export async function runPresence(s: PresenceSettings, log: (line: string) => void): Promise<PresenceResult> {
  const runs: PresenceRun[] = [];
  for (let i = 0; i < s.repeats; i++) {
    const run = await runStreamsJob<PresenceRun>(
      "herald",
      s.streams + s.connectsPerSec,
      (target, hubPid): PresenceJob => ({ kind: "presence", target, hubPid, ...s }),
    );
    runs.push(run);
    log(
      `  presence #${i + 1}: publish p99 ${run.quiet.publishP99Ms.toFixed(1)} ms quiet, ${run.storm.publishP99Ms.toFixed(1)} ms through ${Math.round(run.connectsPerSec)} connects/s`,
    );
  }
  const median: PresenceRun = {
    ...medianOf(runs),
    quiet: medianOf(runs.map((r) => r.quiet)),
    storm: medianOf(runs.map((r) => r.storm)),
  };
  return { settings: s, median, runs };
}
