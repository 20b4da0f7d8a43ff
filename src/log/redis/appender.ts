/** The shared log's writes: group commit of appends in one script, then the waits for replicas and this node's tail. */
import { idempotencyConflict, type PendingAppend } from "../append";
import type { AppendResult, EventDraft, Idempotency, Receipt } from "../event-log";
import type { LogFault } from "../faults";
import { COMMAND_TIMEOUT_MS, type RedisConnection } from "./connection";
import { encodeUpdate } from "./entries";
import { idempotencyKey, type LogKeys } from "./keys";
import { scripts } from "./scripts";
import type { Tail } from "./tail";

export interface AppenderOptions {
  /** Replicas that must have a write before it is acknowledged (WAIT); 0 trusts the primary alone. */
  readonly replicas: number;
  /** Retention's per-topic limit (0: none): appends note the topics that pass it. */
  readonly maxEventsPerTopic: number;
}

/**
 * Events the feed keeps (about: Redis trims whole nodes). It only bridges the moment between a commit and
 * each node's tail reading it; a tail that falls further behind reads what it missed from the log instead.
 */
const FEED_LENGTH = 5000;
/** About the most event data the feed keeps: at 1 MiB an event, 64 events (each append trims it by its largest). */
const FEED_BYTES = 64 * 1024 * 1024;
/** Most events one append script takes (past its first request), so a group commit holds Redis for a few milliseconds at most. */
const GROUP_EVENTS = 1000;
/**
 * How long before we stop waiting for an append script the script must have started, or refuse to write: the
 * rest covers its run and its answer's way back, and an error in the clocks' offset.
 */
const APPEND_START_MARGIN_MS = 500;
/** How long a write waits for its replicas before the publisher is told the log is unavailable. */
const REPLICA_WAIT_MS = 2000;
/** Where append.lua reads its deadline (ms on Redis's clock) among its arguments. */
const DEADLINE_ARG = 5;
/** append.lua's answer per request. */
const FRESH = 1;
const REPLAYED = 2;
const CONFLICT = 3;

/** Runs a Redis command, turning a failure into the log's fault. */
export type Call = <T>(command: () => Promise<T>) => Promise<T>;
/** Records a fault the store is in and returns the error to answer with. */
export type Report = (fault: LogFault) => Error;

export class Appender {
  private readonly inflight = new Set<Promise<unknown>>();
  private queue: PendingAppend[] = [];
  private writing = false;
  /** The highest id this node's appends were given. */
  private assigned = 0;

  /** `connection` is the appender's own: a WAIT waits for the writes sent on it, and blocks it meanwhile. */
  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: LogKeys,
    private readonly tail: Tail,
    private readonly options: AppenderOptions,
    private readonly call: Call,
    private readonly report: Report,
  ) {}

  /** Resolves once every append under way has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  append(drafts: readonly EventDraft[], idempotency?: Idempotency): Promise<AppendResult> {
    // An empty append waits for those under way: what draining needs.
    if (drafts.length === 0) return this.settled().then(() => ({ receipts: [], replayed: false }));
    const appended = new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ drafts, idempotency, resolve, reject });
      if (this.queue.length === 1) setImmediate(() => this.write());
    });
    this.inflight.add(appended);
    const done = () => this.inflight.delete(appended);
    appended.then(done, done);
    return appended;
  }

  /**
   * Group commit: one append script at a time, taking every request queued meanwhile (up to GROUP_EVENTS
   * events), so a busy hub pays one script and one fsync of Redis for many publishes.
   */
  private write(): void {
    if (this.writing || this.queue.length === 0) return;
    let take = 1;
    let events = this.queue[0]?.drafts.length ?? 0;
    for (; take < this.queue.length; take++) {
      events += this.queue[take]?.drafts.length ?? 0;
      if (events > GROUP_EVENTS) break;
    }
    const requests = this.queue.splice(0, take);
    this.writing = true;
    const written = this.commit(requests, () => {
      this.writing = false;
      this.write();
    });
    written.catch((error: unknown) => {
      for (const r of requests) r.reject(error);
    });
  }

  /**
   * Appends `requests` in one script; `written` runs once the next script may be sent: when Redis has answered
   * this one, or with replicas to wait for, once they have confirmed (a command sent behind a WAIT would wait
   * for it past its own deadline).
   */
  private async commit(requests: readonly PendingAppend[], written: () => void): Promise<void> {
    const k = this.keys;
    // Whatever Redis says its newest id is, none this node has seen is handed out again.
    const floor = Math.max(this.tail.head, this.assigned);
    const args: (string | number)[] = [
      k.namespace,
      this.options.maxEventsPerTopic,
      FEED_LENGTH,
      floor,
      requests.length,
      0,
      FEED_BYTES,
    ];
    for (const { drafts, idempotency: idem } of requests) {
      args.push(idem ? idempotencyKey(k, idem.scope, idem.key) : "", idem?.fingerprint ?? "", drafts.length);
      for (const d of drafts) args.push(d.topic, d.event ?? "", d.data, encodeUpdate(d));
    }
    let reply: number[];
    let fresh: { status: number; receipts: Receipt[] }[];
    let outcomes: typeof fresh;
    try {
      reply = (await this.call(async () => {
        // A 503 must mean "not stored": a script Redis gets to only after we gave up on it (Redis was paused)
        // finds its deadline passed and writes nothing.
        args[DEADLINE_ARG] = await this.connection.redisTimeIn(COMMAND_TIMEOUT_MS - APPEND_START_MARGIN_MS);
        return scripts.append.run(
          this.connection,
          [k.log, k.feed, k.head, k.topics, k.over, k.pruned, k.prefixes, k.ids, k.privates],
          args,
        );
      })) as number[];
      outcomes = requests.map(({ drafts }, r) => {
        const [status, first, time] = reply.slice(r * 3, r * 3 + 3) as [number, number, number];
        return { status, receipts: drafts.map((d, i) => ({ id: first + i, topic: d.topic, event: d.event, time })) };
      });
      fresh = outcomes.filter((o) => o.status === FRESH);
      const newest = Math.max(0, ...fresh.map((o) => o.receipts.at(-1)?.id ?? 0));
      this.assigned = Math.max(this.assigned, newest);
      if (fresh.length > 0 && this.options.replicas > 0) await this.replicated();
    } finally {
      written();
    }
    if (fresh.length > 0) {
      // Answer once this node has announced the events too, as the embedded log does.
      await this.tail.reached(this.assigned);
    }
    let pruned = reply.at(-1);
    requests.forEach((request, r) => {
      const { status, receipts } = outcomes[r] as (typeof outcomes)[number];
      if (status === CONFLICT) {
        request.reject(idempotencyConflict());
      } else {
        request.resolve({ receipts, replayed: status === REPLAYED, pruned: status === FRESH ? pruned : 0 });
        if (status === FRESH) pruned = 0;
      }
    });
  }

  /** Waits until enough replicas have every write sent so far on this connection. */
  private async replicated(): Promise<void> {
    const wait = ["WAIT", String(this.options.replicas), String(REPLICA_WAIT_MS)] as const;
    const acked = Number(
      await this.call(() => this.connection.send(wait[0], wait.slice(1), REPLICA_WAIT_MS + COMMAND_TIMEOUT_MS)),
    );
    if (acked < this.options.replicas) {
      throw this.report({
        reason: "log_unavailable",
        message: `the event is stored but only ${acked} of ${this.options.replicas} Redis replicas confirmed it; retry with the same Idempotency-Key`,
      });
    }
  }
}
