/** The shared event log: Redis Streams, written by atomic scripts, read back by every node's tail. */
import type { RedisClient } from "bun";
import { HeraldError } from "../../errors";
import type { Logger } from "../../logger";
import { parseSelector, type Selector } from "../../names";
import type {
  AppendResult,
  CommitListener,
  EventDraft,
  EventLog,
  Idempotency,
  LoggedEvent,
  MissedListener,
  PrunePolicy,
  ReadRange,
  TopicSummary,
} from "../event-log";
import { FaultState } from "../fault-state";
import { faultError, isFaultError, type LogFault } from "../faults";
import { connect, redisFault } from "./connection";
import { flatEvents } from "./entries";
import { idempotencyKey, type LogKeys, logKeys } from "./keys";
import { type Reply, scripts } from "./scripts";
import { BACKFILL_PAGE, Tail } from "./tail";

export interface RedisLogOptions {
  readonly url: string;
  /** Names the keys, so several hubs can share one Redis. */
  readonly prefix: string;
  /** Replicas that must have a write before it is acknowledged (WAIT); 0 trusts the primary alone. */
  readonly replicas: number;
  /** Retention's per-topic limit (0: none): appends note the topics that pass it. */
  readonly maxEventsPerTopic: number;
}

const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;
const EVERY_TOPIC = parseSelector("*");
/** Data one read call returns at most (past its first event), so one call holds Redis briefly. */
const READ_BYTES = 1024 * 1024;
/** Log entries one read call filters at most when a selector matches too many topics to merge. */
const SCAN_BUDGET = 2000;
const TOPICS_PAGE = 100;
/**
 * Events the feed keeps (about: Redis trims whole nodes). It only bridges the moment between a commit and
 * each node's tail reading it; a tail that falls further behind reads what it missed from the log instead.
 */
const FEED_LENGTH = 5000;
/** How long a write waits for its replicas before the publisher is told the log is unavailable. */
const REPLICA_WAIT_MS = 2000;
const PROBE_MS = 1000;
/** How long a resume waits for this node's tail to reach the id it names (through a reconnect) before a 503. */
const CATCH_UP_MS = 3000;

export class RedisEventLog implements EventLog {
  readonly faults: FaultState;
  private readonly listeners: CommitListener[] = [];
  private readonly missedListeners: MissedListener[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  /** The next WAIT, shared by every write answered before it is sent. */
  private nextWait: Promise<number> | undefined;
  private memoryBytes = 0;

  private constructor(
    private readonly client: RedisClient,
    private readonly keys: LogKeys,
    private readonly tail: Tail,
    private readonly options: RedisLogOptions,
    logger: Logger,
  ) {
    this.faults = new FaultState(logger);
    this.faults.watch(() => this.check(), PROBE_MS);
  }

  /** Connects (waiting a while for Redis to come up), reads the newest id and starts this node's tail. */
  static async open(options: RedisLogOptions, logger: Logger): Promise<RedisEventLog> {
    const keys = logKeys(options.prefix);
    const client = await connect(options.url);
    const [, head] = (await scripts.head.run(client, [keys.log, keys.head], [0])) as [number, number];
    let log: RedisEventLog | undefined;
    const tail = new Tail(
      await connect(options.url),
      options.url,
      keys,
      head,
      {
        deliver: (events) => {
          for (const listener of log?.listeners ?? []) listener(events);
        },
        backfill: (after, through) =>
          (log as RedisEventLog).read({ selectors: [EVERY_TOPIC], after, upTo: through, limit: BACKFILL_PAGE }),
        missed: (after, through) => {
          logger.warn("events were pruned before this node read them; its streams resume from the log", { after, through });
          for (const listener of log?.missedListeners ?? []) listener();
        },
      },
      logger,
    );
    log = new RedisEventLog(client, keys, tail, options, logger);
    // A first look at once, so /metrics has the memory figure from the start.
    await log.check();
    tail.start();
    return log;
  }

  append(drafts: readonly EventDraft[], idempotency?: Idempotency): Promise<AppendResult> {
    // An empty append waits for those under way: what draining needs.
    if (drafts.length === 0) return Promise.allSettled([...this.inflight]).then(() => ({ receipts: [], replayed: false }));
    const appended = this.commit(drafts, idempotency);
    this.inflight.add(appended);
    const done = () => this.inflight.delete(appended);
    appended.then(done, done);
    return appended;
  }

  private async commit(drafts: readonly EventDraft[], idem: Idempotency | undefined): Promise<AppendResult> {
    const k = this.keys;
    const args: (string | number)[] = [
      k.namespace,
      this.options.maxEventsPerTopic,
      FEED_LENGTH,
      idem ? idempotencyKey(k, idem.scope, idem.key) : "",
      idem?.fingerprint ?? "",
      drafts.length,
    ];
    for (const d of drafts) args.push(d.topic, d.event ?? "", d.data);
    const [status, first, time, pruned] = (await this.call(() =>
      scripts.append.run(this.client, [k.log, k.feed, k.head, k.topics, k.over, k.pruned], args),
    )) as [string, number, number, number?];
    if (status === "conflict") {
      throw new HeraldError("idempotency_conflict", "this Idempotency-Key was already used with a different request");
    }
    const receipts = drafts.map((d, i) => ({ id: first + i, topic: d.topic, event: d.event, time }));
    if (status === "replayed") return { receipts, replayed: true };
    if (this.options.replicas > 0) await this.replicated();
    // Answer once this node has announced the events too, as the embedded log does.
    await this.tail.reached(first + drafts.length - 1);
    return { receipts, replayed: false, pruned };
  }

  /** Waits until enough replicas have every write answered so far; one WAIT serves all of them. */
  private async replicated(): Promise<void> {
    this.nextWait ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.nextWait = undefined;
      return this.call(() => this.client.send("WAIT", [String(this.options.replicas), String(REPLICA_WAIT_MS)]));
    });
    const acked = await this.nextWait;
    if (acked < this.options.replicas) {
      throw faultError({
        reason: "log_unavailable",
        message: `the event is stored but only ${acked} of ${this.options.replicas} Redis replicas confirmed it; retry with the same Idempotency-Key`,
      });
    }
  }

  async read({ selectors, after, upTo = NO_UPPER_BOUND, limit }: ReadRange): Promise<LoggedEvent[]> {
    const exact = selectors.filter((s) => !s.isPrefix).map((s) => s.value);
    const prefixes = selectors.filter((s) => s.isPrefix).map((s) => s.value);
    const events: LoggedEvent[] = [];
    let cursor = after;
    // Each call reads a bounded slice; a sparse selector may take several before the page is full.
    while (events.length < limit && cursor < upTo) {
      const reply = (await this.call(() =>
        scripts.read.run(
          this.client,
          [this.keys.log, this.keys.topics],
          [
            this.keys.namespace,
            cursor,
            upTo,
            limit - events.length,
            READ_BYTES,
            SCAN_BUDGET,
            exact.length,
            ...exact,
            ...prefixes,
          ],
        ),
      )) as Reply[];
      cursor = Number(reply[0]);
      events.push(...flatEvents(reply, 1));
    }
    return events;
  }

  lastId(): number {
    return this.tail.head;
  }

  async caughtUp(id: number): Promise<void> {
    if (id <= this.tail.head) return;
    const deadline = Date.now() + CATCH_UP_MS;
    // A resume that lands during a reconnect waits for it rather than failing.
    for (;;) {
      try {
        const newest = Number(await this.client.send("HGET", [this.keys.head, "id"]));
        if (await this.tail.caughtUp(Math.min(id, newest), deadline - Date.now())) return;
        throw new Error("this node's tail is behind");
      } catch (error) {
        if (Date.now() >= deadline) throw this.faults.enter(redisFault(error));
        await Bun.sleep(50);
      }
    }
  }

  async prunedThrough(selectors: readonly Selector[]): Promise<number> {
    const exact = selectors.filter((s) => !s.isPrefix).map((s) => s.value);
    const prefixes = selectors.filter((s) => s.isPrefix).map((s) => s.value);
    const reply = await this.call(() =>
      scripts.prunedThrough.run(this.client, [this.keys.topics, this.keys.pruned], [exact.length, ...exact, ...prefixes]),
    );
    return Number(reply);
  }

  async prune({ before, maxPerTopic, limit }: PrunePolicy): Promise<number> {
    const k = this.keys;
    const reply = await this.call(() =>
      scripts.prune.run(this.client, [k.log, k.pruned, k.over], [k.namespace, before, maxPerTopic, limit, READ_BYTES]),
    );
    return Number(reply);
  }

  async topics(): Promise<TopicSummary[]> {
    const k = this.keys;
    const out: TopicSummary[] = [];
    let after = "";
    do {
      const page = (await this.call(() =>
        scripts.topics.run(this.client, [k.topics], [k.namespace, after, TOPICS_PAGE]),
      )) as Reply[];
      after = String(page[0]);
      for (let i = 1; i < page.length; i += 5) {
        out.push({
          topic: String(page[i]),
          events: Number(page[i + 1]),
          firstId: Number(page[i + 2]),
          lastId: Number(page[i + 3]),
          lastTime: Number(page[i + 4]),
        });
      }
    } while (after !== "");
    return out;
  }

  async retained(): Promise<number> {
    return Number(await this.call(() => this.client.send("XLEN", [this.keys.log])));
  }

  /** Memory of the Redis instance, as last probed. */
  sizeBytes(): number {
    return this.memoryBytes;
  }

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  onMissed(listener: MissedListener): void {
    this.missedListeners.push(listener);
  }

  async close(): Promise<void> {
    this.faults.stop();
    await Promise.allSettled([...this.inflight]);
    await this.tail.stop();
    this.client.close();
  }

  /** Runs a command; a store failure becomes the fault it stands for (logged once), a success clears it. */
  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      const result = await command();
      this.faults.clear();
      return result;
    } catch (error) {
      throw isFaultError(error) ? error : this.faults.enter(redisFault(error));
    }
  }

  /** Whether appends would work now: the head script may write, so Redis refuses it as it would an append. */
  private async check(): Promise<LogFault | undefined> {
    try {
      await scripts.head.run(this.client, [this.keys.log, this.keys.head], [0]);
      const info = String(await this.client.send("INFO", ["memory"]));
      this.memoryBytes = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? this.memoryBytes);
    } catch (error) {
      return redisFault(error);
    }
    if (!this.tail.connected) return { reason: "log_unavailable", message: "this node cannot read the shared log's Redis" };
    return undefined;
  }
}
