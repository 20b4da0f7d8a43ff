/** The shared event log: Redis Streams, written by atomic scripts, read back by every node's tail. */
import { HeraldError } from "../../errors";
import type { Logger } from "../../logger";
import { parseSelector, type Selector } from "../../names";
import { redactRedisUrl } from "../../net/redis-url";
import type {
  AppendResult,
  CommitListener,
  EventDraft,
  EventLog,
  Idempotency,
  LoggedEvent,
  LogSize,
  MissedListener,
  PrunePolicy,
  ReadRange,
  TopicRange,
  TopicSummary,
} from "../event-log";
import { FaultState } from "../fault-state";
import { isFaultError, type LogFault } from "../faults";
import { Appender, type AppenderOptions } from "./appender";
import { checkReachable, RedisConnection, redisFault } from "./connection";
import { type LogKeys, logKeys } from "./keys";
import { probe } from "./probe";
import { READ_BYTES, RedisReader } from "./reader";
import { scripts } from "./scripts";
import { BACKFILL_PAGE, Tail } from "./tail";

export interface RedisLogOptions extends AppenderOptions {
  readonly url: string;
  /** Names the keys, so several hubs can share one Redis. */
  readonly prefix: string;
}

const EVERY_TOPIC = parseSelector("*");
const PROBE_MS = 1000;
/** How long a resume waits for this node's tail to reach the id it names (through a reconnect) before a 503. */
const CATCH_UP_MS = 3000;

/** The three connections of a node: a WAIT holds the writes' one, a blocking read the tail's. */
interface Connections {
  readonly writes: RedisConnection;
  readonly reads: RedisConnection;
  readonly tail: RedisConnection;
}

export class RedisEventLog implements EventLog {
  readonly faults: FaultState;
  private readonly listeners: CommitListener[] = [];
  private readonly missedListeners: MissedListener[] = [];
  private readonly appender: Appender;
  private readonly reader: RedisReader;
  private readonly tail: Tail;
  private memoryBytes = 0;

  private constructor(
    private readonly connections: Connections,
    private readonly keys: LogKeys,
    head: number,
    private readonly options: RedisLogOptions,
    logger: Logger,
  ) {
    this.faults = new FaultState(logger);
    const call = <T>(command: () => Promise<T>) => this.call(command);
    this.reader = new RedisReader(connections.reads, keys, call);
    this.tail = new Tail(
      connections.tail,
      keys,
      head,
      {
        deliver: (events) => {
          for (const listener of this.listeners) listener(events);
        },
        backfill: (after, through) => this.read({ selectors: [EVERY_TOPIC], after, upTo: through, limit: BACKFILL_PAGE }),
        missed: async (after, through) => {
          logger.warn("events were pruned before this node read them; streams that lost some are told", { after, through });
          await Promise.all(this.missedListeners.map((listener) => listener()));
        },
      },
      logger,
    );
    this.appender = new Appender(connections.writes, keys, this.tail, options, call, (fault) => this.faults.enter(fault));
    this.faults.watch(() => this.check(), PROBE_MS);
  }

  /** Connects (waiting a while for Redis to come up), reads the newest id and starts this node's tail. */
  static async open(options: RedisLogOptions, logger: Logger): Promise<RedisEventLog> {
    const keys = logKeys(options.prefix);
    await checkReachable(options.url);
    const connection = () => new RedisConnection(options.url);
    const connections = { writes: connection(), reads: connection(), tail: connection() };
    let head: number;
    try {
      [, head] = (await scripts.head.run(connections.reads, [keys.head], [0])) as [number, number];
      await indexPruned(connections.writes, keys);
      await indexOverLimit(connections.writes, keys, options.maxEventsPerTopic);
    } catch (error) {
      for (const c of Object.values(connections)) c.close();
      throw new HeraldError("log_unavailable", `cannot use Redis at ${redactRedisUrl(options.url)}: ${(error as Error).message}`);
    }
    const log = new RedisEventLog(connections, keys, head, options, logger);
    // A first look at once, so /metrics has the memory figure from the start.
    await log.check();
    log.tail.start();
    return log;
  }

  append(drafts: readonly EventDraft[], idempotency?: Idempotency): Promise<AppendResult> {
    return this.appender.append(drafts, idempotency);
  }

  read(range: ReadRange): Promise<LoggedEvent[]> {
    return this.reader.read(range);
  }

  findPublisherId(publisherId: string): Promise<number | undefined> {
    return this.reader.findPublisherId(publisherId);
  }

  lastId(): number {
    return this.tail.head;
  }

  /** Also tells whether Redis answers now, so a resume during an outage is refused before its stream starts. */
  async caughtUp(id: number): Promise<void> {
    const deadline = Date.now() + CATCH_UP_MS;
    // A resume that lands during a reconnect of the tail waits for it rather than failing.
    for (;;) {
      const newest = await this.reader.newestId();
      if (id <= this.tail.head || (await this.tail.caughtUp(Math.min(id, newest), deadline - Date.now()))) return;
      if (Date.now() >= deadline) {
        throw this.faults.enter({ reason: "log_unavailable", message: "this node's tail of the shared log is behind" });
      }
    }
  }

  prunedThrough(selectors: readonly Selector[]): Promise<number> {
    return this.reader.prunedThrough(selectors);
  }

  /**
   * Call after call until `limit` events went or one finds nothing due: a call stops at 16 topics over their limit
   * or about 1 MiB of data, each call short, and retention sweeps again only a second after a batch that fell short.
   */
  async prune({ before, maxPerTopic, limit }: PrunePolicy): Promise<number> {
    const k = this.keys;
    let deleted = 0;
    while (deleted < limit) {
      const reply = await this.call(() =>
        scripts.prune.run(
          this.connections.writes,
          [k.log, k.pruned, k.over, k.prefixes, k.topics, k.ids, k.privates],
          [k.namespace, before, maxPerTopic, limit - deleted, READ_BYTES],
        ),
      );
      const went = Number(reply);
      if (went === 0) break;
      deleted += went;
    }
    return deleted;
  }

  topics(range: TopicRange): Promise<TopicSummary[]> {
    return this.reader.topics(range);
  }

  publicSummary(topic: string): Promise<TopicSummary | undefined> {
    return this.reader.publicSummary(topic);
  }

  retained(): Promise<number> {
    return this.reader.retained();
  }

  /** Memory of the whole Redis instance (INFO's used_memory), as last probed: the log's own keys are a part of it. */
  size(): LogSize {
    return { measures: "redis_memory", bytes: this.memoryBytes };
  }

  degrade(fault: LogFault): void {
    this.faults.enter(fault);
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
    this.connections.writes.close();
    this.connections.reads.close();
  }

  /** Runs a command; a store failure becomes the fault it stands for (logged once). Only the probe clears it. */
  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw isFaultError(error) ? error : this.faults.enter(redisFault(error));
    }
  }

  private async check(): Promise<LogFault | undefined> {
    const { fault, usedMemory } = await probe(this.connections.reads, this.keys, this.options.replicas);
    if (usedMemory !== undefined && !Number.isNaN(usedMemory)) this.memoryBytes = usedMemory;
    if (fault) return fault;
    if (!this.tail.connected) return { reason: "log_unavailable", message: "this node cannot read the shared log's Redis" };
    return undefined;
  }
}

/**
 * Appends note the topics they push past the per-topic limit. A limit lowered (or set) since the last check would
 * never reach topics nobody appends to any more: every topic is checked against it, a page at a time.
 */
async function indexOverLimit(connection: RedisConnection, keys: LogKeys, limit: number): Promise<void> {
  const checked = Number((await connection.send("GET", [keys.overLimit])) ?? 0);
  if (limit > 0 && (checked === 0 || limit < checked)) {
    let cursor = "0";
    do {
      cursor = String(await scripts.indexOver.run(connection, [keys.topics, keys.over], [keys.namespace, limit, cursor]));
    } while (cursor !== "0");
  }
  if (limit !== checked) await connection.send("SET", [keys.overLimit, String(limit)]);
}

/** A log pruned by a Herald that kept no prefix index of what it pruned gets one, a page at a time. */
async function indexPruned(connection: RedisConnection, keys: LogKeys): Promise<void> {
  if (Number(await connection.send("EXISTS", [keys.prefixes])) === 1) return;
  let cursor = "0";
  do {
    cursor = String(await scripts.indexPruned.run(connection, [keys.pruned, keys.prefixes], [cursor]));
  } while (cursor !== "0");
}
