/** The embedded event log: SQLite in WAL mode, with concurrent appends sharing one commit. */
import type { Database } from "bun:sqlite";
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { HeraldError } from "../../errors";
import { createLogger, type Logger } from "../../logger";
import type { Selector } from "../../names";
import { idempotencyConflict, type PendingAppend } from "../append";
import type {
  AppendResult,
  CommitListener,
  EventDraft,
  EventLog,
  FramedPage,
  Idempotency,
  LoggedEvent,
  LogSize,
  PrunePolicy,
  ReadRange,
  TopicRange,
  TopicSummary,
} from "../event-log";
import { FaultState } from "../fault-state";
import { faultError, isFaultError, type LogFault } from "../faults";
import { openDatabase, type SyncMode } from "./database";
import { flushFault } from "./faults";
import { migrate } from "./migrations";
import { nearlyFull, SqliteProbe } from "./probe";
import { SqliteReader } from "./reader";
import { WalSync } from "./wal-sync";
import { type Outcome, SqliteWriter } from "./writer";

export interface SqliteLogOptions {
  /** The database file; `:memory:` for a log that lives as long as the process. */
  readonly path: string;
  readonly sync: SyncMode;
}

/** How often the files are checked for being deleted or replaced, and a degraded log is probed for recovery. */
const PROBE_INTERVAL_MS = 1000;
export class SqliteEventLog implements EventLog {
  readonly faults: FaultState;
  private readonly db: Database;
  private readonly writer: SqliteWriter;
  private readonly reader: SqliteReader;
  private readonly probe: SqliteProbe;
  private readonly listeners: CommitListener[] = [];
  private queue: PendingAppend[] = [];
  private head: number;
  /** A `full` log's WAL flush; undefined for `normal` (and in memory), where a commit is done when SQLite returns. */
  private readonly walSync: WalSync | undefined;
  /** The flush of the last commit, while it runs: the next batch waits for it, growing meanwhile. */
  private flushing: Promise<void> | undefined;

  /** Throws what SQLite throws; `open` says why in one line. */
  constructor(
    private readonly path: string,
    sync: SyncMode,
    logger: Logger = createLogger("info"),
  ) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const durable = sync === "full" && path !== ":memory:";
    this.db = openDatabase(path, durable ? "normal" : sync);
    migrate(this.db);
    this.walSync = durable ? new WalSync(`${path}-wal`) : undefined;
    this.probe = new SqliteProbe(this.db, path, this.walSync);
    this.faults = new FaultState(logger);
    this.writer = new SqliteWriter(this.db, () => {
      const moved = this.probe.moved();
      if (moved) throw this.faults.enter(moved);
    });
    this.reader = new SqliteReader(this.db, () => this.head);
    this.head = this.db.query<{ seq: number }, []>("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get()?.seq ?? 0;
    // Healthy, only the files' identity is checked (two stats a second); degraded, the probe tries a real commit.
    this.faults.watch((current) => (current ? this.probe.check(current) : this.probe.moved()), PROBE_INTERVAL_MS);
  }

  /** Opens (creating and migrating) the log at `path`; any failure is a `log_unavailable` error saying why. */
  static open(path: string, sync: SyncMode, logger: Logger): SqliteEventLog {
    try {
      return new SqliteEventLog(path, sync, logger);
    } catch (error) {
      const { message, code } = error as { message: string; code?: string };
      const why = error instanceof HeraldError || !code || message.includes(code) ? message : `${message} (${code})`;
      // SQLite cannot even read a WAL database without room for its shared-memory index: it says "I/O error".
      const full = path !== ":memory:" && nearlyFull(path) ? "; its disk is full" : "";
      throw new HeraldError("log_unavailable", `cannot open the log at ${path}: ${why}${full}`);
    }
  }

  append(drafts: readonly EventDraft[], idempotency?: Idempotency): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      // Everything queued within one turn of the event loop shares a transaction and its sync.
      if (this.queue.length === 0 && !this.flushing) setImmediate(() => this.commit());
      this.queue.push({ drafts, idempotency, resolve, reject });
    });
  }

  private commit(): void {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    // Degraded, only the probe writes: publishes fail at once rather than thrash a failing disk, and the state
    // changes only when the probe says so (one log line each way).
    const fault = this.faults.current;
    let outcomes: Outcome[];
    try {
      if (fault) throw faultError(fault);
      outcomes = this.writer.append(batch);
    } catch (error) {
      this.refuse(batch, error);
      return;
    }
    if (!this.walSync) {
      this.deliver(batch, outcomes);
      return;
    }
    this.flushing = this.walSync.flush().then(
      () => this.deliver(batch, outcomes),
      (error) => this.refuse(batch, this.faults.enter(flushFault(error))),
    );
    this.flushing.finally(() => {
      this.flushing = undefined;
      this.commit();
    });
  }

  private refuse(batch: readonly PendingAppend[], error: unknown): void {
    const failure = this.failure(error);
    for (const p of batch) p.reject(failure);
  }

  /** A store failure becomes the fault it stands for, degrading the log; any other error passes as it is. */
  private failure(error: unknown): unknown {
    if (isFaultError(error)) return error;
    const fault = this.probe.diagnose(error);
    return fault ? this.faults.enter(fault) : error;
  }

  /** Runs a read (synchronous or not), turning a store failure into its fault. */
  private async reading<T>(read: () => T | Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      throw this.failure(error);
    }
  }

  /** Announces a commit to the listeners, in commit order, then answers its publishers. */
  private deliver(batch: readonly PendingAppend[], outcomes: readonly Outcome[]): void {
    const committed = outcomes.flatMap((o) => ("fresh" in o ? o.fresh : []));
    const last = committed[committed.length - 1];
    if (last) this.head = last.id;
    for (const listener of this.listeners) listener(committed);
    batch.forEach((p, i) => {
      const o = outcomes[i] as Outcome;
      if ("fresh" in o) p.resolve({ receipts: o.fresh, replayed: false });
      else if ("replayed" in o) p.resolve({ receipts: o.replayed, replayed: true });
      else p.reject(idempotencyConflict());
    });
  }

  read(range: ReadRange): Promise<LoggedEvent[]> {
    return this.reading(() => this.reader.read(range));
  }

  readFramed(range: ReadRange, idPrefix: string): Promise<FramedPage | undefined> {
    return this.reading(() => this.reader.framed(range, idPrefix));
  }

  findPublisherId(publisherId: string): Promise<number | undefined> {
    return this.reading(() => this.reader.findPublisherId(publisherId));
  }

  lastId(): number {
    return this.head;
  }

  /** Commits are announced before their publishers hear of them: nothing to wait for. */
  async caughtUp(): Promise<void> {}

  prunedThrough(selectors: readonly Selector[]): Promise<number> {
    return this.reading(() => this.reader.prunedThrough(selectors));
  }

  /** Prunes nothing while degraded; a store failure degrades the log (logged once) rather than failing the sweep. */
  async prune(policy: PrunePolicy): Promise<number> {
    if (this.faults.current) return 0;
    try {
      return this.writer.prune(policy);
    } catch (error) {
      const failure = this.failure(error);
      if (isFaultError(failure)) return 0;
      throw failure;
    }
  }

  async topics(range: TopicRange): Promise<TopicSummary[]> {
    return this.reading(() => this.reader.topics(range));
  }

  async publicSummary(topic: string): Promise<TopicSummary | undefined> {
    return this.reading(() => this.reader.publicSummary(topic));
  }

  async retained(): Promise<number> {
    return this.reading(() => this.reader.retained());
  }

  size(): LogSize {
    const bytes = (file: string) => statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    return { measures: "database_file", bytes: this.path === ":memory:" ? 0 : bytes(this.path) + bytes(`${this.path}-wal`) };
  }

  degrade(fault: LogFault): void {
    this.faults.enter(fault);
  }

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  /** Every commit is announced as it happens: none is ever missed. */
  onMissed(): void {}

  async close(): Promise<void> {
    this.faults.stop();
    await this.flushing;
    this.commit();
    await this.flushing;
    this.walSync?.close();
    this.writer.close();
  }
}
