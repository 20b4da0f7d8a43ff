/** The shared event log: Redis Streams, written by atomic scripts, read back by every node's tail. */
import type { RedisClient } from "bun";
import type { Logger } from "../../logger";
import { parseSelector, type Selector } from "../../names";
import {
  type AppendResult,
  type CommitListener,
  dataSize,
  type EventDraft,
  type EventLog,
  type Idempotency,
  type LoggedEvent,
  type MissedListener,
  type PrunePolicy,
  type ReadRange,
  type TopicSummary,
} from "../event-log";
import { FaultState } from "../fault-state";
import { isFaultError, type LogFault } from "../faults";
import { Appender, type AppenderOptions } from "./appender";
import { connect, redisFault } from "./connection";
import { flatEvents } from "./entries";
import { type LogKeys, logKeys } from "./keys";
import { type Reply, scripts } from "./scripts";
import { BACKFILL_PAGE, Tail } from "./tail";

export interface RedisLogOptions extends AppenderOptions {
  readonly url: string;
  /** Names the keys, so several hubs can share one Redis. */
  readonly prefix: string;
}

const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;
const EVERY_TOPIC = parseSelector("*");
/** Data one read call returns at most (with the event that reaches it), so one call holds Redis briefly. */
const READ_BYTES = 1024 * 1024;
/** Log entries one read call filters at most when a selector matches too many topics to merge. */
const SCAN_BUDGET = 2000;
const TOPICS_PAGE = 100;
const PROBE_MS = 1000;

/** How long a resume waits for this node's tail to reach the id it names (through a reconnect) before a 503. */
const CATCH_UP_MS = 3000;

export class RedisEventLog implements EventLog {
  readonly faults: FaultState;
  private readonly listeners: CommitListener[] = [];
  private readonly missedListeners: MissedListener[] = [];
  private readonly appender: Appender;
  private memoryBytes = 0;

  private readonly tail: Tail;

  private constructor(
    private readonly client: RedisClient,
    tailClient: RedisClient,
    private readonly keys: LogKeys,
    head: number,
    options: RedisLogOptions,
    logger: Logger,
  ) {
    this.faults = new FaultState(logger);
    this.tail = new Tail(
      tailClient,
      options.url,
      keys,
      head,
      {
        deliver: (events) => {
          for (const listener of this.listeners) listener(events);
        },
        backfill: (after, through) => this.read({ selectors: [EVERY_TOPIC], after, upTo: through, limit: BACKFILL_PAGE }),
        missed: (after, through) => {
          logger.warn("events were pruned before this node read them; its streams resume from the log", { after, through });
          for (const listener of this.missedListeners) listener();
        },
      },
      logger,
    );
    this.appender = new Appender(client, keys, this.tail, options, (command) => this.call(command));
    this.faults.watch(() => this.check(), PROBE_MS);
  }

  /** Connects (waiting a while for Redis to come up), reads the newest id and starts this node's tail. */
  static async open(options: RedisLogOptions, logger: Logger): Promise<RedisEventLog> {
    const keys = logKeys(options.prefix);
    const client = await connect(options.url);
    const [, head] = (await scripts.head.run(client, [keys.log, keys.head], [0])) as [number, number];
    const log = new RedisEventLog(client, await connect(options.url), keys, head, options, logger);
    // A first look at once, so /metrics has the memory figure from the start.
    await log.check();
    log.tail.start();
    return log;
  }

  append(drafts: readonly EventDraft[], idempotency?: Idempotency): Promise<AppendResult> {
    return this.appender.append(drafts, idempotency);
  }

  async read({
    selectors,
    after,
    upTo = NO_UPPER_BOUND,
    limit,
    maxBytes = Number.POSITIVE_INFINITY,
  }: ReadRange): Promise<LoggedEvent[]> {
    const exact = selectors.filter((s) => !s.isPrefix).map((s) => s.value);
    const prefixes = selectors.filter((s) => s.isPrefix).map((s) => s.value);
    const events: LoggedEvent[] = [];
    let cursor = after;
    // Each call reads a bounded slice; a sparse selector may take several before the page is full. The page
    // counts data as the seam does (string length), so it ends full or complete, never in between.
    let bytes = 0;
    while (events.length < limit && bytes < maxBytes && cursor < upTo) {
      const reply = (await this.call(() =>
        scripts.read.run(
          this.client,
          [this.keys.log, this.keys.topics],
          [
            this.keys.namespace,
            cursor,
            upTo,
            limit - events.length,
            Math.min(READ_BYTES, maxBytes - bytes),
            SCAN_BUDGET,
            exact.length,
            ...exact,
            ...prefixes,
          ],
        ),
      )) as Reply[];
      cursor = Number(reply[0]);
      const slice = flatEvents(reply, 1);
      events.push(...slice);
      bytes += dataSize(slice);
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
    await this.appender.settled();
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
