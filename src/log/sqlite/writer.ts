/** The writes of the SQLite log: one transaction per batch of appends (group commit), and pruning. */
// A writer thread was tried (bench --only publish, hub pinned to one core): 35.7k acked/s against 40.4k
// in-thread; the messages cost more than they save when the hub has one core. The flush is off-thread (wal-sync.ts).
import type { Database } from "bun:sqlite";
import type { AppendRequest } from "../append";
import { distinctAlternates, type EventDraft, isUpdate, type LoggedEvent, type PrunePolicy, type Receipt } from "../event-log";

/** What became of one request in a shared commit. */
export type Outcome = { fresh: LoggedEvent[] } | { replayed: Receipt[] } | { conflict: true };

/** Over-limit topics fetched per query while trimming. */
const TOPICS_PER_QUERY = 16;

type Insert = [topic: string, type: string | null, data: string, time: number];
type InsertUpdate = [
  topic: string,
  type: string | null,
  data: string,
  time: number,
  alternates: string | null,
  isPrivate: number | null,
  publisherId: string | null,
  retry: number | null,
];

export class SqliteWriter {
  private readonly insert;
  private readonly insertUpdate;
  private readonly insertAlternate;
  private readonly findKey;
  private readonly saveKey;
  private readonly countTopic;
  private readonly deleteExpired;
  private readonly overLimit;
  private readonly trimTopic;
  /** The topic the last trim reached: the next one starts after it. */
  private trimFrom = "";

  /**
   * @param beforeCommit runs last inside every append transaction and throws to roll it back: the place to
   * refuse a commit to a file that is no longer the log.
   */
  constructor(
    private readonly db: Database,
    private readonly beforeCommit: () => void,
  ) {
    this.deleteExpired = db.query<never, [number, number]>(
      "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?) AND time < ?",
    );
    this.overLimit = db.query<{ topic: string; excess: number }, [number, number, string]>(
      `SELECT topic, events - ? AS excess FROM topics WHERE events > ? AND topic > ? ORDER BY topic LIMIT ${TOPICS_PER_QUERY}`,
    );
    // A topic's events are those it is the canonical topic of, and those it is an alternate of.
    this.trimTopic = db.query<never, [string, number]>(
      `DELETE FROM events WHERE id IN (
         SELECT id FROM events WHERE topic = ?1 UNION ALL SELECT id FROM event_topics WHERE topic = ?1 ORDER BY id LIMIT ?2)`,
    );
    // A max_data that is not known (NULL) stays so: max() of NULL is NULL.
    this.countTopic = db.query<never, [string, number, number, number, number, number | null, number]>(
      `INSERT INTO topics (topic, events, last_id, last_time, max_data, last_update, private_events) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (topic) DO UPDATE SET events = events + excluded.events, last_id = excluded.last_id,
         last_time = excluded.last_time, max_data = max(max_data, excluded.max_data),
         last_update = coalesce(excluded.last_update, last_update), private_events = private_events + excluded.private_events`,
    );
    this.insert = db.query<never, Insert>("INSERT INTO events (topic, type, data, time) VALUES (?, ?, ?, ?)");
    this.insertUpdate = db.query<never, InsertUpdate>(
      "INSERT INTO events (topic, type, data, time, alternates, private, publisher_id, retry) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.insertAlternate = db.query<never, [number, string]>("INSERT INTO event_topics (id, topic) VALUES (?, ?)");
    this.findKey = db.query<{ fingerprint: string; receipts: string }, [string, string]>(
      "SELECT fingerprint, receipts FROM idempotency_keys WHERE scope = ? AND key = ?",
    );
    this.saveKey = db.query<never, [string, string, string, number, string]>(
      "INSERT INTO idempotency_keys (scope, key, fingerprint, first_id, receipts) VALUES (?, ?, ?, ?, ?)",
    );
  }

  /**
   * All requests in one transaction and one sync; throws, and leaves nothing of them (events, topic counts,
   * idempotency keys, the id sequence), if any step or the commit fails.
   */
  append(requests: readonly AppendRequest[]): Outcome[] {
    const time = Date.now();
    this.rollback();
    this.db.run("BEGIN");
    try {
      const outcomes = requests.map((r) => this.apply(r, time));
      this.countTopics(outcomes, time);
      this.beforeCommit();
      this.db.run("COMMIT");
      return outcomes;
    } catch (error) {
      this.rollback();
      throw error;
    }
  }

  /**
   * Ends a transaction still open. After SQLITE_FULL or an I/O error SQLite may already have rolled back by
   * itself (a second ROLLBACK would fail and hide the first error); a transaction left open would turn the
   * next BEGIN into an error, or, under a helper that nests, the next commit into a savepoint that commits nothing.
   */
  private rollback(): void {
    if (!this.db.inTransaction) return;
    try {
      this.db.run("ROLLBACK");
    } catch {
      // The store is failing; the caller reports the error that got us here, and the next append tries again.
    }
  }

  /**
   * One update per topic per commit keeps /topics and the gap checks from ever scanning the log, and tells a
   * read of the topic how long its events' data can be and where its Mercure updates end.
   */
  private countTopics(outcomes: readonly Outcome[], time: number): void {
    type Count = { events: number; lastId: number; maxData: number; lastUpdate: number | null; privateEvents: number };
    const counts = new Map<string, Count>();
    const count = (topic: string, e: LoggedEvent) => {
      const lastUpdate = isUpdate(e) ? e.id : null;
      const privateEvents = e.private === true ? 1 : 0;
      const c = counts.get(topic);
      if (c) {
        c.events++;
        c.lastId = e.id;
        c.maxData = Math.max(c.maxData, e.data.length);
        c.lastUpdate = lastUpdate ?? c.lastUpdate;
        c.privateEvents += privateEvents;
      } else counts.set(topic, { events: 1, lastId: e.id, maxData: e.data.length, lastUpdate, privateEvents });
    };
    for (const o of outcomes) {
      if (!("fresh" in o)) continue;
      for (const e of o.fresh) {
        count(e.topic, e);
        if (e.alternates) for (const topic of e.alternates) count(topic, e);
      }
    }
    for (const [topic, c] of counts) {
      this.countTopic.run(topic, c.events, c.lastId, time, c.maxData, c.lastUpdate, c.privateEvents);
    }
  }

  /** One request inside the shared transaction; a repeated key is resolved here, so duplicates append once. */
  private apply({ drafts, idempotency: idem }: AppendRequest, time: number): Outcome {
    if (idem) {
      const prior = this.findKey.get(idem.scope, idem.key);
      if (prior && prior.fingerprint !== idem.fingerprint) return { conflict: true };
      if (prior) {
        const rows = JSON.parse(prior.receipts) as Array<[number, string, string | null, number]>;
        return { replayed: rows.map(([id, topic, event, t]): Receipt => ({ id, topic, event, time: t })) };
      }
    }
    const fresh = drafts.map((d) =>
      isUpdate(d)
        ? this.appendUpdate(d, time)
        : { ...d, id: Number(this.insert.run(d.topic, d.event, d.data, time).lastInsertRowid), time },
    );
    const first = fresh[0];
    if (idem && first) {
      this.saveKey.run(
        idem.scope,
        idem.key,
        idem.fingerprint,
        first.id,
        JSON.stringify(fresh.map((e) => [e.id, e.topic, e.event, e.time])),
      );
    }
    return { fresh };
  }

  /** A Mercure update: its own columns, and one row per alternate topic. */
  private appendUpdate(d: EventDraft, time: number): LoggedEvent {
    const alternates = distinctAlternates(d);
    const { topic, event, data, publisherId, retry } = d;
    const row = this.insertUpdate.run(
      topic,
      event,
      data,
      time,
      alternates ? JSON.stringify(alternates) : null,
      d.private === true ? 1 : null,
      publisherId ?? null,
      retry ?? null,
    );
    const id = Number(row.lastInsertRowid);
    if (alternates) for (const alternate of alternates) this.insertAlternate.run(id, alternate);
    return {
      id,
      topic,
      event,
      data,
      time,
      ...(alternates && { alternates }),
      ...(d.private === true && { private: true }),
      ...(publisherId !== undefined && { publisherId }),
      ...(retry !== undefined && { retry }),
    };
  }

  /** Deletes at most `limit` events past retention, in one transaction (one sync, however many topics). */
  prune({ before, maxPerTopic, limit }: PrunePolicy): number {
    const deleted = this.db.transaction(() => {
      // Ids follow commit time, so the oldest events are the lowest ids: look at no more than `limit` of them.
      const expired = this.deleteExpired.run(limit, before).changes;
      return maxPerTopic > 0 ? expired + this.trimTopics(maxPerTopic, limit - expired) : expired;
    })();
    if (deleted > 0) this.db.run("PRAGMA incremental_vacuum(256)");
    return deleted;
  }

  /**
   * Trims topics over `maxPerTopic`, round robin from where the last call stopped: every topic over its limit
   * gets its turn, however many there are and however busy the ones that sort first.
   */
  private trimTopics(maxPerTopic: number, budget: number): number {
    let deleted = 0;
    let wrapped = false;
    while (deleted < budget) {
      const over = this.overLimit.all(maxPerTopic, maxPerTopic, this.trimFrom);
      for (const { topic, excess } of over) {
        if (deleted >= budget) break;
        deleted += this.trimTopic.run(topic, Math.min(excess, budget - deleted)).changes;
        this.trimFrom = topic;
      }
      if (over.length < TOPICS_PER_QUERY) {
        // Past the last topic: start again from the first, once per call.
        if (wrapped || this.trimFrom === "") break;
        wrapped = true;
        this.trimFrom = "";
      }
    }
    return deleted;
  }

  close(): void {
    try {
      this.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch {
      // A full or read-only disk cannot take the checkpoint; the WAL keeps every commit and the next start replays it.
    }
    this.db.close();
  }
}
