/**
 * Reads of the SQLite log: pages bounded in count and in bytes, and prefix scans in bounded id windows that
 * yield to the event loop, so a sparse selector over a large log never holds the hub.
 */
import type { Database, Statement } from "bun:sqlite";
import type { Selector } from "../../names";
import {
  compareNames,
  type FramedPage,
  type LoggedEvent,
  mergeTopics,
  nameRange,
  type ReadRange,
  type TopicRange,
  type TopicSummary,
} from "../event-log";
import { framedPageQuery } from "./frames";

/**
 * A row of `events`: most of a replay's time is spent turning columns into values, so a read takes as few as it
 * can. One of one topic leaves its name out (it is the selector's). A Mercure update's own columns come as one
 * JSON array, null for a native event; a read of a range that holds no update leaves even that out.
 */
interface Row {
  id: number;
  topic?: string;
  type: string | null;
  data: string;
  time: number;
  update?: string | null;
}

/** `update`'s array: alternates (JSON), private, publisher_id, retry. */
type UpdateColumns = [string[] | null, number | null, string | null, number | null];

/** Events in id order, and the size of their data as a page counts it. */
export interface Page {
  readonly events: LoggedEvent[];
  readonly bytes: number;
}

/** What one selector found in a window: `complete` unless it stopped at a count or byte limit. */
export interface Found extends Page {
  readonly complete: boolean;
}

const UPDATE = (e: string) =>
  `CASE WHEN coalesce(${e}alternates, ${e}private, ${e}publisher_id, ${e}retry) IS NULL THEN NULL
   ELSE json_array(json(${e}alternates), ${e}private, ${e}publisher_id, ${e}retry) END AS "update"`;
/** The columns of one topic's rows, whose name the query gives. */
const TOPIC_COLUMNS = `id, type, data, time, ${UPDATE("")}`;
/** The columns of one topic's native events. */
const NATIVE_COLUMNS = "id, type, data, time";
const COLUMNS = `id, topic, type, data, time, ${UPDATE("")}`;
/** The same columns read through a join of `event_topics` with `events` (as `e`). */
const EVENT_COLUMNS = `e.id, e.topic, e.type, e.data, e.time, ${UPDATE("e.")}`;
/** Ids a prefix scan covers per query: a few milliseconds of rows at most. */
const WINDOW_IDS = 4096;
/** A topic's events one step of the search for its first or last public event reads. */
const EDGE_STEP = 512;
/** Longest a read runs before it lets other requests in. */
const SLICE_MS = 2;

/** One event at an end of a topic: is it public (not a private update)? */
interface EdgeRow {
  readonly id: number;
  readonly time: number;
  readonly public: 0 | 1;
}

const earliest = (a?: EdgeRow, b?: EdgeRow) => (a && b ? (a.id < b.id ? a : b) : (a ?? b));
const latest = (a?: EdgeRow, b?: EdgeRow) => (a && b ? (a.id > b.id ? a : b) : (a ?? b));

/** What a read of one topic knows before it reads a row (migrations/0006_topic_read_bounds.sql). */
interface TopicRangeRow {
  largest: number | null;
  lastUpdate: number | null;
  alternates: 0 | 1;
}

/** Nothing known: row by row, every column, alternates merged. */
const UNKNOWN_RANGE: TopicRangeRow = { largest: null, lastUpdate: null, alternates: 1 };

/** Whether `limit` of the topic's largest events stay under `maxBytes`: a page then ends by count, read at once. */
const endsByCount = (range: TopicRangeRow, limit: number, maxBytes: number) =>
  range.largest !== null && (limit - 1) * range.largest < maxBytes;

/** Whether the topic's events after `after` are native ones: no Mercure update among them, no update's column to read. */
const nativeAfter = (range: TopicRangeRow, after: number) => range.lastUpdate === null || range.lastUpdate <= after;

/** @param topic the topic of a row that does not name its own */
function toEvent(row: Row, topic: string): LoggedEvent {
  const event = { id: row.id, topic: row.topic ?? topic, event: row.type, data: row.data, time: row.time };
  // A native event has none of a Mercure update's fields, not even as undefined ones.
  if (!row.update) return event;
  const [alternates, isPrivate, publisherId, retry] = JSON.parse(row.update) as UpdateColumns;
  return {
    ...event,
    ...(alternates !== null && { alternates }),
    ...(isPrivate === 1 && { private: true }),
    ...(publisherId !== null && { publisherId }),
    ...(retry !== null && { retry }),
  };
}

/**
 * The rows of two id-ordered lists as one, in id order, each id once: an event is found under its canonical
 * topic and under its alternates, and under several alternates a prefix matches.
 */
function* byId(a: Iterator<Row>, b: Iterator<Row>): Generator<Row> {
  try {
    let x = a.next();
    let y = b.next();
    let last = Number.NEGATIVE_INFINITY;
    while (!x.done || !y.done) {
      let row: Row;
      if (y.done || (!x.done && x.value.id <= y.value.id)) {
        row = x.value as Row;
        x = a.next();
      } else {
        row = y.value;
        y = b.next();
      }
      if (row.id === last) continue;
      last = row.id;
      yield row;
    }
  } finally {
    // A page that stops early leaves the statements mid-way: they are reset for their next use.
    a.return?.();
    b.return?.();
  }
}

/** Rows in id order until `limit` of them or `maxBytes` of data (the last one included); `topic` as in toEvent. */
function collect(rows: Iterable<Row>, topic: string, limit: number, maxBytes: number): Found {
  const events: LoggedEvent[] = [];
  let bytes = 0;
  for (const row of rows) {
    events.push(toEvent(row, topic));
    bytes += row.data.length;
    if (events.length >= limit || bytes >= maxBytes) return { events, bytes, complete: false };
  }
  return { events, bytes, complete: true };
}

/**
 * Merges what each selector found into one page in id order, each event once (selectors may overlap). A list
 * that stopped early may hide events after its last id, so the page ends there; then `limit` and `maxBytes`.
 */
export function mergeFound(lists: readonly Found[], limit: number, maxBytes: number): Page {
  let through = Number.POSITIVE_INFINITY;
  for (const l of lists) if (!l.complete) through = Math.min(through, l.events[l.events.length - 1]?.id ?? through);
  const all = lists.length === 1 ? (lists[0]?.events ?? []) : lists.flatMap((l) => l.events).sort((a, b) => a.id - b.id);
  const out: LoggedEvent[] = [];
  let bytes = 0;
  for (const e of all) {
    if (e.id > through || out.length >= limit || bytes >= maxBytes) break;
    if (out[out.length - 1]?.id === e.id) continue;
    out.push(e);
    bytes += e.data.length;
  }
  return { events: out, bytes };
}

/**
 * Long scans take turns: one slice per turn of the event loop, however many scans are under way, so a request
 * that arrives meanwhile waits for one slice at most, not one per scan.
 */
class Turns {
  private waiting: Array<() => void> = [];

  next(): Promise<void> {
    return new Promise((resolve) => {
      if (this.waiting.push(resolve) === 1) setImmediate(() => this.release());
    });
  }

  private release(): void {
    this.waiting.shift()?.();
    if (this.waiting.length > 0) setImmediate(() => this.release());
  }
}

export class SqliteReader {
  private readonly byTopic;
  private readonly pageOfTopic;
  private readonly pageOfNatives;
  private readonly byAlternate;
  private readonly byAlternatePrefix;
  private readonly topicRange;
  private readonly anyAlternateIn;
  private readonly byPublisherId;
  private readonly all;
  private readonly byPrefix;
  private readonly prunedInRange;
  private readonly prunedOf;
  private readonly topicsAfter;
  private readonly topicsFrom;
  private readonly topicCounts;
  /** A topic's events from its oldest or its newest, canonical and alternate: where its public events begin and end. */
  private readonly oldest;
  private readonly newest;
  private readonly retainedCount;
  private readonly framedPage;
  private readonly turns = new Turns();

  /** @param head the highest id committed: a read never looks past it */
  constructor(
    db: Database,
    private readonly head: () => number,
  ) {
    this.byTopic = db.query<Row, [string, number, number]>(
      `SELECT ${TOPIC_COLUMNS} FROM events WHERE topic = ? AND id > ? AND id <= ? ORDER BY id`,
    );
    this.byAlternate = db.query<Row, [string, number, number]>(
      `SELECT ${EVENT_COLUMNS} FROM event_topics a JOIN events e ON e.id = a.id
       WHERE a.topic = ? AND a.id > ? AND a.id <= ? ORDER BY a.id`,
    );
    this.byAlternatePrefix = db.query<Row, [number, number, string, string]>(
      `SELECT ${EVENT_COLUMNS} FROM event_topics a JOIN events e ON e.id = a.id
       WHERE a.id > ? AND a.id <= ? AND +a.topic >= ? AND +a.topic < ? ORDER BY a.id`,
    );
    this.pageOfTopic = db.query<Row, [string, number, number, number]>(
      `SELECT ${TOPIC_COLUMNS} FROM events WHERE topic = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?`,
    );
    this.pageOfNatives = db.query<Row, [string, number, number, number]>(
      `SELECT ${NATIVE_COLUMNS} FROM events WHERE topic = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?`,
    );
    this.topicRange = db.query<TopicRangeRow, [string, number, number]>(
      `SELECT (SELECT max_data FROM topics WHERE topic = ?1) AS largest,
              (SELECT last_update FROM topics WHERE topic = ?1) AS lastUpdate,
              EXISTS (SELECT 1 FROM event_topics WHERE topic = ?1 AND id > ?2 AND id <= ?3) AS alternates`,
    );
    this.anyAlternateIn = db.query<{ found: 1 }, [string, string, number, number]>(
      "SELECT 1 AS found FROM event_topics WHERE topic >= ? AND topic < ? AND id > ? AND id <= ? LIMIT 1",
    );
    this.byPublisherId = db.query<{ id: number }, [string]>("SELECT id FROM events WHERE publisher_id = ? ORDER BY id LIMIT 1");
    this.all = db.query<Row, [number, number]>(`SELECT ${COLUMNS} FROM events WHERE id > ? AND id <= ? ORDER BY id`);
    // Unary + keeps SQLite on the rowid: a prefix spans many topics, whose index order is not id order.
    this.byPrefix = db.query<Row, [number, number, string, string]>(
      `SELECT ${COLUMNS} FROM events WHERE id > ? AND id <= ? AND +topic >= ? AND +topic < ? ORDER BY id`,
    );
    this.prunedInRange = db.query<{ p: number | null }, [string, string]>(
      "SELECT max(pruned_through) AS p FROM topics WHERE topic >= ? AND topic < ?",
    );
    this.prunedOf = db.query<{ p: number | null }, [string]>("SELECT pruned_through AS p FROM topics WHERE topic = ?");
    // The partial index holds only topics with events: a page never steps over the rows of emptied ones. One
    // lower bound each (inclusive or not): given two, SQLite seeks by one and filters by the other.
    const topicsIn = (lower: ">" | ">=") =>
      db.query<TopicSummary, [string, string, number]>(
        `SELECT topic, events,
                (SELECT min(id) FROM (SELECT min(id) AS id FROM events WHERE topic = t.topic
                                      UNION ALL SELECT min(id) FROM event_topics WHERE topic = t.topic)) AS firstId,
                last_id AS lastId, last_time AS lastTime, private_events AS privateEvents
         FROM topics t INDEXED BY topics_retained
         WHERE emptied IS NULL AND topic ${lower} ? AND topic < ? ORDER BY topic LIMIT ?`,
      );
    this.topicsAfter = topicsIn(">");
    this.topicsFrom = topicsIn(">=");
    this.topicCounts = db.query<{ events: number; privateEvents: number; lastId: number }, [string]>(
      "SELECT events, private_events AS privateEvents, last_id AS lastId FROM topics WHERE topic = ?",
    );
    const edge = (order: "ASC" | "DESC") => {
      const past = order === "ASC" ? ">" : "<";
      return {
        canonical: db.query<EdgeRow, [string, number]>(
          `SELECT id, time, private IS NULL AS public FROM events
           WHERE topic = ?1 AND id ${past} ?2 ORDER BY id ${order} LIMIT ${EDGE_STEP}`,
        ),
        alternate: db.query<EdgeRow, [string, number]>(
          `SELECT a.id AS id, e.time AS time, e.private IS NULL AS public FROM event_topics a JOIN events e ON e.id = a.id
           WHERE a.topic = ?1 AND a.id ${past} ?2 ORDER BY a.id ${order} LIMIT ${EDGE_STEP}`,
        ),
      };
    };
    this.oldest = edge("ASC");
    this.newest = edge("DESC");
    this.framedPage = framedPageQuery(db);
    this.retainedCount = db.query<{ n: number | null }, []>(
      "SELECT (SELECT sum(events) FROM topics) - (SELECT count(*) FROM event_topics) AS n",
    );
  }

  /** One index range per selector, merged: each page costs what it returns. */
  topics({ selectors, after, limit }: TopicRange): TopicSummary[] {
    return mergeTopics(
      selectors.map((s) => {
        const { from, to } = nameRange(s);
        return compareNames(after, from) >= 0 ? this.topicsAfter.all(after, to, limit) : this.topicsFrom.all(from, to, limit);
      }),
      limit,
    );
  }

  async publicSummary(topic: string): Promise<TopicSummary | undefined> {
    const counts = this.topicCounts.get(topic);
    if (!counts || counts.events <= counts.privateEvents) return undefined;
    const first = earliest(
      await this.firstPublic(this.oldest.canonical, topic, 0),
      await this.firstPublic(this.oldest.alternate, topic, 0),
    );
    const last = latest(
      await this.firstPublic(this.newest.canonical, topic, counts.lastId + 1),
      await this.firstPublic(this.newest.alternate, topic, counts.lastId + 1),
    );
    if (!first || !last) return undefined;
    const events = counts.events - counts.privateEvents;
    return { topic, events, firstId: first.id, lastId: last.id, lastTime: last.time, privateEvents: 0 };
  }

  /**
   * The first event that is not private in `rows` (one end of a topic, past `from`). A step at a time, yielding
   * to the event loop between slices: private updates at an end of a topic are stepped over without holding it.
   */
  private async firstPublic(rows: Statement<EdgeRow, [string, number]>, topic: string, from: number) {
    let sliceStart = performance.now();
    for (let cursor = from; ; ) {
      const step = rows.all(topic, cursor);
      const found = step.find((r) => r.public === 1);
      const end = step[step.length - 1];
      if (found || !end || step.length < EDGE_STEP) return found;
      cursor = end.id;
      if (performance.now() - sliceStart >= SLICE_MS) {
        await this.turns.next();
        sliceStart = performance.now();
      }
    }
  }

  async read({ selectors, after, upTo, limit, maxBytes = Number.POSITIVE_INFINITY }: ReadRange): Promise<LoggedEvent[]> {
    const end = Math.min(upTo ?? Number.MAX_SAFE_INTEGER, this.head());
    // Exact topics seek their index and `*` reads every row in range: only a prefix scan can pass over many
    // rows that do not match, so only a read with one goes window by window.
    const windowed = selectors.some((s) => s.isPrefix && s.value !== "");
    let page: LoggedEvent[] = [];
    let bytes = 0;
    let from = after;
    let sliceStart = Number.NEGATIVE_INFINITY;
    while (from < end && page.length < limit && bytes < maxBytes) {
      if (windowed && performance.now() - sliceStart >= SLICE_MS) {
        await this.turns.next();
        sliceStart = performance.now();
      }
      const to = windowed ? Math.min(end, from + WINDOW_IDS) : end;
      const left = limit - page.length;
      const found = selectors.map((s) =>
        collect(this.rows(s, from, to, left, maxBytes - bytes), s.value, left, maxBytes - bytes),
      );
      // One selector's rows are a page as they are: its list stopped where a merge would have.
      const merged = found.length === 1 ? (found[0] as Found) : mergeFound(found, left, maxBytes - bytes);
      if (page.length === 0) page = merged.events;
      else page.push(...merged.events);
      bytes += merged.bytes;
      from = to;
    }
    return page;
  }

  /** `read`'s page framed by SQLite (frames.ts), where the page is one topic's native events ending by count. */
  framed(
    { selectors, after, upTo, limit, maxBytes = Number.POSITIVE_INFINITY }: ReadRange,
    idPrefix: string,
  ): FramedPage | undefined {
    const [s, ...others] = selectors;
    if (!s || others.length > 0 || s.isPrefix) return undefined;
    const end = Math.min(upTo ?? Number.MAX_SAFE_INTEGER, this.head());
    const range = this.topicRange.get(s.value, after, end) ?? UNKNOWN_RANGE;
    if (range.alternates || !endsByCount(range, limit, maxBytes) || !nativeAfter(range, after)) return undefined;
    const page = this.framedPage.get(s.value, after, end, limit, idPrefix);
    if (!page || page.framed < page.count) return undefined;
    return { bytes: page.bytes ?? undefined, count: page.count, lastId: page.lastId ?? undefined };
  }

  /**
   * An update is found under its alternates too, merged in id order; where none is in the range (every native
   * topic), one seek says so and the rows come straight from their statement, without a merge per row. They
   * come one at a time, so that a page stops at its bytes, unless `limit` of the topic's longest could not pass
   * them: then as one array, all turned into values at once, and past the topic's last update without its columns.
   */
  private rows(s: Selector, after: number, upTo: number, limit: number, maxBytes: number): Iterable<Row> {
    if (!s.isPrefix) {
      const range = this.topicRange.get(s.value, after, upTo) ?? UNKNOWN_RANGE;
      if (range.alternates)
        return byId(this.byTopic.iterate(s.value, after, upTo), this.byAlternate.iterate(s.value, after, upTo));
      if (!endsByCount(range, limit, maxBytes)) return this.byTopic.iterate(s.value, after, upTo);
      const page = nativeAfter(range, after) ? this.pageOfNatives : this.pageOfTopic;
      return page.all(s.value, after, upTo, limit);
    }
    if (s.value === "") return this.all.iterate(after, upTo);
    const { to } = nameRange(s);
    const rows = this.byPrefix.iterate(after, upTo, s.value, to);
    if (!this.anyAlternateIn.get(s.value, to, after, upTo)) return rows;
    return byId(rows, this.byAlternatePrefix.iterate(after, upTo, s.value, to));
  }

  /** Retained events: topics count an update once in each of its topics, so its alternate rows are taken off (they are few). */
  retained(): number {
    return this.retainedCount.get()?.n ?? 0;
  }

  findPublisherId(publisherId: string): number | undefined {
    return this.byPublisherId.get(publisherId)?.id;
  }

  prunedThrough(selectors: readonly Selector[]): number {
    let highest = 0;
    for (const s of selectors) {
      const row = s.isPrefix ? this.prunedInRange.get(s.value, nameRange(s).to) : this.prunedOf.get(s.value);
      highest = Math.max(highest, row?.p ?? 0);
    }
    return highest;
  }
}
