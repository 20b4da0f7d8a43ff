/** The embedded event log: SQLite in WAL mode, with concurrent appends sharing one commit. */
import { Database } from "bun:sqlite";
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
  Receipt,
  TopicSummary,
} from "./event-log";
import { migrate } from "./migrations";

interface Row {
  id: number;
  topic: string;
  type: string | null;
  data: string;
  time: number;
}

interface PendingAppend {
  readonly drafts: readonly EventDraft[];
  readonly idempotency: Idempotency | undefined;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { fresh: LoggedEvent[] } | { replayed: Receipt[] } | { conflict: true };

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
  private readonly listeners: CommitListener[] = [];
  private queue: PendingAppend[] = [];
  private head: number;

  constructor(
    private readonly path: string,
    sync: SyncMode,
  ) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { create: true, strict: true });
    // Only takes effect on a new file: freed pages then go back to the OS as retention prunes.
    this.db.run("PRAGMA auto_vacuum = INCREMENTAL");
    this.db.run("PRAGMA journal_mode = WAL");
    this.db.run(`PRAGMA synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
    this.db.run("PRAGMA busy_timeout = 5000");
    // The WAL is reused after each checkpoint; this bounds what it keeps on disk meanwhile.
    this.db.run("PRAGMA journal_size_limit = 67108864");
    migrate(this.db);
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
      const time = Date.now();
      outcomes = this.db.transaction(() => batch.map((p) => this.apply(p, time)))();
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
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

  /** One request inside the shared transaction; a repeated key is resolved here, so duplicates append once. */
  private apply({ drafts, idempotency: idem }: PendingAppend, time: number): Outcome {
    if (idem) {
      const prior = this.db
        .query<{ fingerprint: string; receipts: string }, [string, string]>(
          "SELECT fingerprint, receipts FROM idempotency_keys WHERE scope = ? AND key = ?",
        )
        .get(idem.scope, idem.key);
      if (prior && prior.fingerprint !== idem.fingerprint) return { conflict: true };
      if (prior) {
        const rows = JSON.parse(prior.receipts) as Array<[number, string, string | null, number]>;
        return { replayed: rows.map(([id, topic, event, t]) => ({ id, topic, event, time: t })) };
      }
    }
    const insert = this.db.query<never, [string, string | null, string, number]>(
      "INSERT INTO events (topic, type, data, time) VALUES (?, ?, ?, ?)",
    );
    const fresh = drafts.map((d) => ({ ...d, id: Number(insert.run(d.topic, d.event, d.data, time).lastInsertRowid), time }));
    const first = fresh[0];
    if (idem && first) {
      const receipts = JSON.stringify(fresh.map((e) => [e.id, e.topic, e.event, e.time]));
      this.db
        .query("INSERT INTO idempotency_keys (scope, key, fingerprint, first_id, receipts) VALUES (?, ?, ?, ?, ?)")
        .run(idem.scope, idem.key, idem.fingerprint, first.id, receipts);
    }
    return { fresh };
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

  async prune({ before, maxPerTopic, limit }: PrunePolicy): Promise<number> {
    // Ids follow commit time, so the oldest events are the lowest ids: look at no more than `limit` of them.
    let deleted = this.db
      .query("DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?) AND time < ?")
      .run(limit, before).changes;
    if (maxPerTopic > 0) {
      const over = this.db
        .query<{ topic: string; excess: number }, [number, number]>(
          "SELECT topic, events - ? AS excess FROM topics WHERE events > ? LIMIT 16",
        )
        .all(maxPerTopic, maxPerTopic);
      const trim = this.db.query("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE topic = ? ORDER BY id LIMIT ?)");
      for (const { topic, excess } of over) {
        if (deleted >= limit) break;
        deleted += trim.run(topic, Math.min(excess, limit - deleted)).changes;
      }
    }
    if (deleted > 0) this.db.run("PRAGMA incremental_vacuum(256)");
    return deleted;
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
    const size = (file: string) => {
      try {
        return statSync(file).size;
      } catch {
        return 0;
      }
    };
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
    this.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    this.db.close();
  }
}
