/**
 * Prometheus text exposition: Herald's own counters, gauges and histogram, written directly; the process metrics
 * every exporter has (CPU, memory, file descriptors, start time) and event-loop lag, from prom-client.
 */
import type { Registry } from "prom-client";
import type { LogSize } from "./log/event-log";
import type { FaultReport } from "./log/fault-state";

/** Upper bounds of the publish latency buckets, in seconds. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * How often the event-loop lag distribution samples the loop. prom-client's default (10 ms) wakes an idle hub 100
 * times a second, and each wake from idle costs tens of µs of CPU on a small VM; a stall still shows, at least as
 * often as it overlaps a sample.
 */
const LAG_SAMPLE_MS = 100;

/** A histogram's figures as plain data: what a worker thread hands over to be summed with the others'. */
export interface HistogramState {
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

export class Histogram {
  private readonly counts = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  private sum = 0;
  private count = 0;

  state(): HistogramState {
    return { counts: [...this.counts], sum: this.sum, count: this.count };
  }

  /** Adds another histogram's observations to this one's. */
  add(other: HistogramState): void {
    other.counts.forEach((n, i) => {
      this.counts[i] = (this.counts[i] ?? 0) + n;
    });
    this.sum += other.sum;
    this.count += other.count;
  }

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    const i = LATENCY_BUCKETS.findIndex((le) => seconds <= le);
    if (i !== -1) this.counts[i] = (this.counts[i] ?? 0) + 1;
  }

  render(name: string): string {
    let cumulative = 0;
    const lines = LATENCY_BUCKETS.map((le, i) => {
      cumulative += this.counts[i] ?? 0;
      return `${name}_bucket{le="${le}"} ${cumulative}`;
    });
    return `${lines.join("\n")}\n${name}_bucket{le="+Inf"} ${this.count}\n${name}_sum ${this.sum}\n${name}_count ${this.count}\n`;
  }
}

/** A thread's counters as plain data, to be summed over every worker. */
export interface Counts {
  readonly published: number;
  readonly delivered: number;
  readonly slowDropped: number;
  readonly pruned: number;
  readonly idempotentReplays: number;
  readonly streamsRefusedPerClient: number;
  readonly crossSiteRefused: number;
  readonly presenceEvents: number;
  readonly publishLatency: HistogramState;
}

/** Everything the hub counts; gauges are read when /metrics is scraped. */
export class Metrics {
  published = 0;
  delivered = 0;
  slowDropped = 0;
  pruned = 0;
  idempotentReplays = 0;
  /** Streams refused with 429: their client held HERALD_MAX_STREAMS_PER_CLIENT already. */
  streamsRefusedPerClient = 0;
  /** Cookie-authenticated writes refused with 403 cross_site_request. */
  crossSiteRefused = 0;
  /** Presence events (Mercure subscription events) written to streams. */
  presenceEvents = 0;
  readonly publishLatency = new Histogram();
  /**
   * prom-client's defaults: `process_*` and `nodejs_*` (event-loop lag among them), measured from now on. Loaded only
   * by the thread that measures the process: prom-client is some 1.6 MB of heap, on every worker thread otherwise.
   */
  private readonly standard: Promise<Registry> | undefined;

  /** @param processMetrics whether this thread measures the process (a worker thread leaves that to the main one) */
  constructor(processMetrics = true) {
    this.standard = processMetrics ? processRegistry() : undefined;
  }

  counts(): Counts {
    const {
      published,
      delivered,
      slowDropped,
      pruned,
      idempotentReplays,
      streamsRefusedPerClient,
      crossSiteRefused,
      presenceEvents,
    } = this;
    return {
      published,
      delivered,
      slowDropped,
      pruned,
      idempotentReplays,
      streamsRefusedPerClient,
      crossSiteRefused,
      presenceEvents,
      publishLatency: this.publishLatency.state(),
    };
  }

  /** Adds another thread's counters to these. */
  add(c: Counts): void {
    this.published += c.published;
    this.delivered += c.delivered;
    this.slowDropped += c.slowDropped;
    this.pruned += c.pruned;
    this.idempotentReplays += c.idempotentReplays;
    this.streamsRefusedPerClient += c.streamsRefusedPerClient;
    this.crossSiteRefused += c.crossSiteRefused;
    this.presenceEvents += c.presenceEvents;
    this.publishLatency.add(c.publishLatency);
  }

  /** The process metrics, read now (the event-loop lag waits one turn of the loop); none where not measured. */
  async processText(): Promise<string> {
    const registry = await this.standard;
    return registry ? registry.metrics() : "";
  }
}

async function processRegistry(): Promise<Registry> {
  const { collectDefaultMetrics, Registry } = await import("prom-client");
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: LAG_SAMPLE_MS });
  return registry;
}

export interface Gauges {
  subscribers: number;
  /** Open streams presence knows of, on every worker of this process and (in cluster mode) every other node. */
  presence: number;
  logSize: LogSize;
  retainedEvents: number;
  lastEventId: number;
  faults: FaultReport;
}

/** The log's size under a name that says what it measures. */
const SIZE_METRICS: Record<LogSize["measures"], { name: string; help: string }> = {
  database_file: { name: "herald_database_size_bytes", help: "SQLite database file and WAL size on disk." },
  redis_memory: {
    name: "herald_redis_used_memory_bytes",
    help: "Memory used by the whole Redis instance holding the log (INFO used_memory: every key in it), probed every second.",
  },
};

function metric(name: string, type: "counter" | "gauge", help: string, value: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`;
}

function faultMetrics({ current, started }: FaultReport): string {
  const counts = Object.entries(started).map(([reason, n]) => `herald_log_faults_total{reason="${reason}"} ${n}\n`);
  return [
    "# HELP herald_log_faults_total Log faults begun (disk full, log unavailable), by reason.\n# TYPE herald_log_faults_total counter\n",
    ...counts,
    metric("herald_log_degraded", "gauge", "1 while the log cannot take writes, else 0.", current ? 1 : 0),
  ].join("");
}

export function renderMetrics(m: Metrics, g: Gauges): string {
  return [
    metric(
      "herald_events_published_total",
      "counter",
      "Events this process published to the log (in cluster mode each node counts its own: sum over nodes).",
      m.published,
    ),
    metric("herald_events_delivered_total", "counter", "Events written to subscriber streams (replay and live).", m.delivered),
    metric("herald_subscribers", "gauge", "Open SSE streams.", g.subscribers),
    metric(
      "herald_presence_subscriptions",
      "gauge",
      "Open streams presence lists (GET /subscriptions), on every node of a cluster.",
      g.presence,
    ),
    metric(
      "herald_presence_events_sent_total",
      "counter",
      "Presence events (Mercure subscription events, HERALD_MERCURE_SUBSCRIPTIONS) written to streams.",
      m.presenceEvents,
    ),
    metric("herald_slow_subscribers_dropped_total", "counter", "Streams cut off for exceeding their buffer.", m.slowDropped),
    metric("herald_events_pruned_total", "counter", "Events deleted by retention.", m.pruned),
    metric(
      "herald_idempotent_replays_total",
      "counter",
      "Publishes answered from an earlier Idempotency-Key.",
      m.idempotentReplays,
    ),
    metric(
      "herald_streams_refused_per_client_total",
      "counter",
      "Streams refused because their client held HERALD_MAX_STREAMS_PER_CLIENT open streams.",
      m.streamsRefusedPerClient,
    ),
    metric(
      "herald_cross_site_requests_refused_total",
      "counter",
      "Cookie-authenticated publishes refused as cross-site requests.",
      m.crossSiteRefused,
    ),
    metric("herald_events_retained", "gauge", "Events in the log.", g.retainedEvents),
    metric("herald_last_event_id", "gauge", "The highest event id assigned.", g.lastEventId),
    metric(SIZE_METRICS[g.logSize.measures].name, "gauge", SIZE_METRICS[g.logSize.measures].help, g.logSize.bytes),
    faultMetrics(g.faults),
    "# HELP herald_publish_duration_seconds Time from a publish request's arrival to its commit.\n# TYPE herald_publish_duration_seconds histogram\n",
    m.publishLatency.render("herald_publish_duration_seconds"),
  ].join("");
}

/** What only a hub of several worker threads reports. */
export function renderWorkerMetrics(workers: number, replaced: number): string {
  return [
    metric("herald_workers", "gauge", "Worker threads serving HTTP.", workers),
    metric("herald_workers_replaced_total", "counter", "Worker threads that died and were replaced.", replaced),
  ].join("");
}
