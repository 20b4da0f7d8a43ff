/** The embedded event log: SQLite in WAL mode, with concurrent appends sharing one commit. */
import { Database, type Statement } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { SyncMode } from "../config";
import type { Selector } from "../names";
import type { CommitListener, EventDraft, EventLog, LoggedEvent, ReadRange, TopicSummary } from "./event-log";
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
  readonly resolve: (events: LoggedEvent[]) => void;
  readonly reject: (error: unknown) => void;
}

const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;

function toEvent(row: Row): LoggedEvent {
  return { id: row.id, topic: row.topic, event: row.type, data: row.data, time: row.time };
}

/** The smallest string greater than every string starting with `prefix` (topics are ASCII). */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** Merges id-sorted lists, dropping duplicates (overlapping selectors), keeping the first `limit`. */
function mergeById(lists: LoggedEvent[][], limit: number): LoggedEvent[] {
  if (lists.length === 1) return lists[0] ?? [];
  const all = lists.flat().sort((a, b) => a.id - b.id);
  const out: LoggedEvent[] = [];
  for (const e of all) {
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
  private readonly insert: Statement;
  private readonly byTopic: Statement<Row, [string, number, number, number]>;
  private readonly byRange: Statement<Row, [number, number, string, string, number]>;
  private readonly all: Statement<Row, [number, number, number]>;

  constructor(path: string, sync: SyncMode) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { create: true, strict: true });
    this.db.run("PRAGMA journal_mode = WAL");
    this.db.run(`PRAGMA synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
    this.db.run("PRAGMA busy_timeout = 5000");
    migrate(this.db);
    this.insert = this.db.query("INSERT INTO events (topic, type, data, time) VALUES (?, ?, ?, ?)");
    this.byTopic = this.db.query(
      "SELECT id, topic, type, data, time FROM events WHERE topic = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?",
    );
    // Unary + keeps SQLite on the rowid: a prefix spans many topics, whose index order is not id order.
    this.byRange = this.db.query(
      "SELECT id, topic, type, data, time FROM events WHERE id > ? AND id <= ? AND +topic >= ? AND +topic < ? ORDER BY id LIMIT ?",
    );
    this.all = this.db.query("SELECT id, topic, type, data, time FROM events WHERE id > ? AND id <= ? ORDER BY id LIMIT ?");
    this.head = this.db.query<{ seq: number }, []>("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get()?.seq ?? 0;
  }

  append(drafts: readonly EventDraft[]): Promise<LoggedEvent[]> {
    return new Promise((resolve, reject) => {
      // Everything queued within one turn of the event loop shares a transaction and its sync.
      if (this.queue.length === 0) setImmediate(() => this.commit());
      this.queue.push({ drafts, resolve, reject });
    });
  }

  private commit(): void {
    const batch = this.queue;
    this.queue = [];
    const time = Date.now();
    let results: LoggedEvent[][];
    try {
      results = this.db.transaction(() =>
        batch.map((p) =>
          p.drafts.map((d) => {
            const id = Number(this.insert.run(d.topic, d.event, d.data, time).lastInsertRowid);
            return { id, topic: d.topic, event: d.event, data: d.data, time };
          }),
        ),
      )();
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    const committed = results.flat();
    const last = committed[committed.length - 1];
    if (last) this.head = last.id;
    for (const listener of this.listeners) listener(committed);
    batch.forEach((p, i) => {
      p.resolve(results[i] ?? []);
    });
  }

  async read({ selectors, after, upTo = NO_UPPER_BOUND, limit }: ReadRange): Promise<LoggedEvent[]> {
    const lists = selectors.map((s) => this.readOne(s, after, upTo, limit).map(toEvent));
    return mergeById(lists, limit);
  }

  private readOne(s: Selector, after: number, upTo: number, limit: number): Row[] {
    if (!s.isPrefix) return this.byTopic.all(s.value, after, upTo, limit);
    if (s.value === "") return this.all.all(after, upTo, limit);
    return this.byRange.all(after, upTo, s.value, prefixEnd(s.value), limit);
  }

  lastId(): number {
    return this.head;
  }

  async prunedThrough(selectors: readonly Selector[]): Promise<number> {
    let highest = 0;
    for (const s of selectors) {
      const row = s.isPrefix
        ? this.db
            .query<{ p: number | null }, [string, string]>(
              "SELECT max(pruned_through) AS p FROM topics WHERE topic >= ? AND topic < ?",
            )
            .get(s.value, s.value === "" ? "\u007f" : prefixEnd(s.value))
        : this.db.query<{ p: number | null }, [string]>("SELECT pruned_through AS p FROM topics WHERE topic = ?").get(s.value);
      highest = Math.max(highest, row?.p ?? 0);
    }
    return highest;
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

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  healthy(): boolean {
    try {
      this.db.query("SELECT 1").get();
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.queue.length > 0) this.commit();
    this.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    this.db.close();
  }
}
