/** The embedded event log: SQLite in WAL mode, with concurrent appends sharing one commit. */
import type { Database } from "bun:sqlite";
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { SyncMode } from "../config";
import { HeraldError } from "../errors";
import type { Selector } from "../names";
import type {
  AppendResult,
  CommitListener,
  EventDraft,
  EventLog,
  Idempotency,
  LoggedEvent,
  PrunePolicy,
  ReadRange,
  TopicSummary,
} from "./event-log";
import { migrate } from "./migrations";
import { type AppendRequest, type Outcome, openLog, SqliteWriter } from "./sqlite-writer";

interface Row {
  id: number;
  topic: string;
  type: string | null;
  data: string;
  time: number;
}

interface PendingAppend extends AppendRequest {
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;
const COLUMNS = "id, topic, type, data, time";

function toEvent(row: Row): LoggedEvent {
  return { id: row.id, topic: row.topic, event: row.type, data: row.data, time: row.time };
}

/** The smallest string greater than every string starting with `prefix` (topics are ASCII). */
function prefixEnd(prefix: string): string {
  return prefix === "" ? "\u007f" : prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** Merges id-sorted lists, dropping duplicates (overlapping selectors), keeping the first `limit`. */
function mergeById(lists: LoggedEvent[][], limit: number): LoggedEvent[] {
  if (lists.length === 1) return lists[0] ?? [];
  const out: LoggedEvent[] = [];
  for (const e of lists.flat().sort((a, b) => a.id - b.id)) {
    if (out.length === limit) break;
    if (out[out.length - 1]?.id !== e.id) out.push(e);
  }
  return out;
}

export class SqliteEventLog implements EventLog {
  private readonly db: Database;
  private readonly writer: SqliteWriter;
  private readonly listeners: CommitListener[] = [];
  private queue: PendingAppend[] = [];
  private head: number;

  constructor(
    private readonly path: string,
    sync: SyncMode,
  ) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = openLog(path, sync);
    migrate(this.db);
    this.writer = new SqliteWriter(this.db);
    this.head = this.db.query<{ seq: number }, []>("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get()?.seq ?? 0;
  }

  append(drafts: readonly EventDraft[], idempotency?: Idempotency): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      // Everything queued within one turn of the event loop shares a transaction and its sync.
      if (this.queue.length === 0) setImmediate(() => this.commit());
      this.queue.push({ drafts, idempotency, resolve, reject });
    });
  }

  private commit(): void {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    let outcomes: Outcome[];
    try {
      outcomes = this.writer.append(batch);
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    this.deliver(batch, outcomes);
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
      else p.reject(new HeraldError("idempotency_conflict", "this Idempotency-Key was already used with a different request"));
    });
  }

  async read({ selectors, after, upTo = NO_UPPER_BOUND, limit }: ReadRange): Promise<LoggedEvent[]> {
    return mergeById(
      selectors.map((s) => this.readOne(s, after, upTo, limit).map(toEvent)),
      limit,
    );
  }

  private readOne(s: Selector, after: number, upTo: number, limit: number): Row[] {
    if (!s.isPrefix) {
      return this.db
        .query<Row, [string, number, number, number]>(
          `SELECT ${COLUMNS} FROM events WHERE topic = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?`,
        )
        .all(s.value, after, upTo, limit);
    }
    if (s.value === "") {
      return this.db
        .query<Row, [number, number, number]>(`SELECT ${COLUMNS} FROM events WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`)
        .all(after, upTo, limit);
    }
    // Unary + keeps SQLite on the rowid: a prefix spans many topics, whose index order is not id order.
    return this.db
      .query<Row, [number, number, string, string, number]>(
        `SELECT ${COLUMNS} FROM events WHERE id > ? AND id <= ? AND +topic >= ? AND +topic < ? ORDER BY id LIMIT ?`,
      )
      .all(after, upTo, s.value, prefixEnd(s.value), limit);
  }

  lastId(): number {
    return this.head;
  }

  async prunedThrough(selectors: readonly Selector[]): Promise<number> {
    const range = this.db.query<{ p: number | null }, [string, string]>(
      "SELECT max(pruned_through) AS p FROM topics WHERE topic >= ? AND topic < ?",
    );
    const exact = this.db.query<{ p: number | null }, [string]>("SELECT pruned_through AS p FROM topics WHERE topic = ?");
    let highest = 0;
    for (const s of selectors) {
      const row = s.isPrefix ? range.get(s.value, prefixEnd(s.value)) : exact.get(s.value);
      highest = Math.max(highest, row?.p ?? 0);
    }
    return highest;
  }

  async prune(policy: PrunePolicy): Promise<number> {
    return this.writer.prune(policy);
  }

  async topics(): Promise<TopicSummary[]> {
    return this.db
      .query<TopicSummary, []>(
        `SELECT topic, events, (SELECT min(id) FROM events e WHERE e.topic = t.topic) AS firstId,
                last_id AS lastId, last_time AS lastTime
         FROM topics t WHERE events > 0 ORDER BY topic`,
      )
      .all();
  }

  async retained(): Promise<number> {
    return this.db.query<{ n: number | null }, []>("SELECT sum(events) AS n FROM topics").get()?.n ?? 0;
  }

  sizeBytes(): number {
    const size = (file: string) => statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    return this.path === ":memory:" ? 0 : size(this.path) + size(`${this.path}-wal`);
  }

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  healthy(): boolean {
    try {
      this.db.query("SELECT count(*) FROM schema_migrations").get();
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.commit();
    this.writer.close();
  }
}
