/** The event log seam: what the hub needs from any store (embedded SQLite, or Redis shared by several nodes). */
import type { Selector } from "../names";
import type { FaultReport } from "./fault-state";
import type { LogFault } from "./faults";

/**
 * What a Mercure update carries beyond a native event. A native event has none of these fields, and its
 * stored form, reads and wire bytes stay what they were.
 */
export interface UpdateFields {
  /**
   * The update's other topics, after `topic` (the canonical one), in the publisher's order: it is one event
   * that matches a selector of any of them, read and delivered once. Distinct and different from `topic`.
   */
  readonly alternates?: readonly string[];
  /** Only readers granted one of its topics may receive it. */
  readonly private?: boolean;
  /** The publisher's own id for the update (Mercure `id`): a resume from it finds the earliest event that has it. */
  readonly publisherId?: string;
  /** The reconnection delay the publisher asked subscribers to use, in milliseconds (Mercure `retry`). */
  readonly retry?: number;
}

/** An event as a publisher hands it over, already validated. */
export interface EventDraft extends UpdateFields {
  readonly topic: string;
  readonly event: string | null;
  /** The data as compact JSON text. */
  readonly data: string;
}

/** What a publisher is told about a committed event. */
export interface Receipt {
  readonly id: number;
  readonly topic: string;
  readonly event: string | null;
  /** Commit time, Unix milliseconds. */
  readonly time: number;
}

/** An event committed to the log. */
export interface LoggedEvent extends Receipt, UpdateFields {
  readonly data: string;
}

/** Every topic of an event, the canonical one first. */
export function topicsOf(e: EventDraft | LoggedEvent): readonly string[] {
  return e.alternates === undefined ? [e.topic] : [e.topic, ...e.alternates];
}

/** The alternates a log stores: each once, never the canonical topic, none at all rather than an empty list. */
export function distinctAlternates(e: EventDraft): readonly string[] | undefined {
  if (e.alternates === undefined || e.alternates.length === 0) return undefined;
  const distinct = [...new Set(e.alternates)].filter((t) => t !== e.topic);
  return distinct.length === 0 ? undefined : distinct;
}

/** Whether a draft or a logged event carries anything beyond a native event's fields. */
export function isUpdate(e: UpdateFields): boolean {
  return e.alternates !== undefined || e.private === true || e.publisherId !== undefined || e.retry !== undefined;
}

/** A publisher's Idempotency-Key: a repeat within `scope` returns the first answer instead of appending. */
export interface Idempotency {
  /** The topic of a single publish, or "" for a batch. */
  readonly scope: string;
  readonly key: string;
  /** Identifies the request body: the same key with another fingerprint is a conflict. */
  readonly fingerprint: string;
}

export interface AppendResult {
  readonly receipts: readonly Receipt[];
  /** True when an idempotent repeat returned the original receipts and appended nothing. */
  readonly replayed: boolean;
  /** Old events the append deleted to keep topics within their retention limit (a log that does so as it appends). */
  readonly pruned?: number;
}

export interface TopicSummary {
  readonly topic: string;
  readonly events: number;
  readonly firstId: number;
  readonly lastId: number;
  readonly lastTime: number;
  /** How many of `events` are private updates: a reader not granted the topic is shown only the others. */
  readonly privateEvents: number;
}

/** Called with each committed batch, in commit order, before the publishers are answered. */
export type CommitListener = (events: readonly LoggedEvent[]) => void;

/**
 * Called when committed events can no longer be announced (a shared log pruned them before this node read
 * them); the announcements that follow wait until it resolves, so streams that lost events hear of it first.
 */
export type MissedListener = () => Promise<void>;

export interface ReadRange {
  readonly selectors: readonly Selector[];
  /** Exclusive lower bound. */
  readonly after: number;
  /** Inclusive upper bound; unbounded when omitted. */
  readonly upTo?: number;
  readonly limit: number;
  /**
   * The page ends with the event that brings its data (counted as `data.length`) to this size: a replay of
   * large events holds a few of them at a time, never `limit`. Unbounded when omitted.
   */
  readonly maxBytes?: number;
}

/**
 * A page of one topic's native events, framed by the log as a stream without an envelope writes them
 * (sse/encode.ts): each an `id:` line, an `event:` line when it has a type, and its data's lines.
 */
export interface FramedPage {
  readonly bytes: Uint8Array | undefined;
  readonly count: number;
  /** The id of its last event; undefined when it holds none. */
  readonly lastId: number | undefined;
}

/** The size a page's events count against `maxBytes`. */
export function dataSize(events: readonly LoggedEvent[]): number {
  let size = 0;
  for (const e of events) size += e.data.length;
  return size;
}

/** A full page may have more after it; a partial one means the range holds nothing more. */
export function isFullPage(events: readonly LoggedEvent[], { limit, maxBytes = Number.POSITIVE_INFINITY }: ReadRange): boolean {
  return events.length >= limit || dataSize(events) >= maxBytes;
}

/** A page of topics: those matching any selector, after `after` in byte order of their names. */
export interface TopicRange {
  readonly selectors: readonly Selector[];
  /** Exclusive lower bound: a topic name, or "" to start at the first. */
  readonly after: string;
  readonly limit: number;
}

/**
 * Past every topic in byte order: Mercure topics are not ASCII only, and U+10FFFF (a noncharacter) is the
 * highest code point UTF-8 can hold.
 */
const PAST_EVERY_NAME = "\u{10FFFF}";

/**
 * The first name after every name that starts with `prefix`: UTF-8 keeps code point order, so it is `prefix` with
 * its last code point raised to the next one a name can hold. Raising its last UTF-16 unit instead bounds nothing
 * after U+FFFF, or after an astral character whose low surrogate is DFFF (U+203FF): a replay would miss their names.
 */
function pastPrefix(prefix: string): string {
  const points = [...prefix];
  while (points.length > 0) {
    const last = (points.pop() as string).codePointAt(0) as number;
    // After U+D7FF come the surrogates, which no name holds; U+10FFFF has no next one: the shorter prefix's bound.
    if (last < 0x10ffff) return points.join("") + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
  }
  return PAST_EVERY_NAME;
}

/** The part of the names a selector matches: [from, to), in byte order. */
export function nameRange(selector: Selector): { readonly from: string; readonly to: string } {
  if (!selector.isPrefix) return { from: selector.value, to: `${selector.value}\u0000` };
  return { from: selector.value, to: pastPrefix(selector.value) };
}

/**
 * Names in byte order, the logs' order: UTF-8 keeps code point order, but JavaScript's `<` compares UTF-16 units,
 * which put an astral character (a surrogate pair, D800 to DFFF) before U+E000 to U+FFFF.
 */
export function compareNames(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A UTF-16 unit's place in code point order: surrogates after U+E000 to U+FFFF, everything else where it is. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

/** Merges the pages each selector found (each in name order) into one page, each topic once. */
export function mergeTopics(pages: readonly (readonly TopicSummary[])[], limit: number): TopicSummary[] {
  const all = pages.length === 1 ? [...(pages[0] ?? [])] : pages.flat().sort((a, b) => compareNames(a.topic, b.topic));
  const out: TopicSummary[] = [];
  for (const t of all) {
    if (out.length >= limit) break;
    if (out[out.length - 1]?.topic !== t.topic) out.push(t);
  }
  return out;
}

export interface PrunePolicy {
  /** Events committed before this Unix time (ms) go. */
  readonly before: number;
  /** Events kept per topic; 0 keeps all. */
  readonly maxPerTopic: number;
  /** Most events deleted in one call, so a call never holds the log for long. */
  readonly limit: number;
}

/**
 * The log's size, named for what is measured: SQLite's database file and WAL on disk, or the memory of the whole
 * Redis instance that holds the shared log (other hubs' keys and anything else in it included).
 */
export interface LogSize {
  readonly measures: "database_file" | "redis_memory";
  readonly bytes: number;
}

/**
 * The reading half of a log on a connection of its own: what a worker thread reads the log with while one
 * writer owns every write. Each method is the EventLog's of that name; a store failure rejects with its fault.
 */
export type LogReads = Pick<
  EventLog,
  "read" | "readFramed" | "findPublisherId" | "prunedThrough" | "topics" | "publicSummary" | "retained"
> & {
  close(): void;
};

export interface EventLog {
  /**
   * Appends all drafts in one transaction; resolves once they are durable, with ids in draft order.
   * Rejects with `idempotency_conflict` when the key was used for a different request.
   */
  append(drafts: readonly EventDraft[], idempotency?: Idempotency): Promise<AppendResult>;
  /**
   * Events matching any selector with an id in the range, in id order: a page of at most `limit`, cut after
   * `maxBytes` (at least one event). A read over a sparse selector yields to the event loop between steps.
   */
  read(range: ReadRange): Promise<LoggedEvent[]>;
  /**
   * `read`'s page of one exact topic, framed by the log itself, each `id:` the event's id after `idPrefix`
   * (`/stream` gives none, the Mercure endpoint its URN's): no event is made one by one. Undefined where it
   * cannot (several selectors, a prefix, a range that holds Mercure updates, events large enough that `maxBytes`
   * may end the page before `limit`, a string it cannot unescape as JavaScript does): read that page instead. A
   * log that never can leaves it out.
   */
  readFramed?(range: ReadRange, idPrefix: string): Promise<FramedPage | undefined>;
  /**
   * The earliest retained event the publisher gave `publisherId`, found in O(log n), or undefined when no
   * retained event has it.
   */
  findPublisherId(publisherId: string): Promise<number | undefined>;
  /** The highest id ever announced to the listeners (0 for an empty log), pruned or not. */
  lastId(): number;
  /**
   * Resolves once every event up to `id` that exists has been announced. A node of a shared log may trail
   * it by a moment, so a `Last-Event-ID` it has not seen yet is not mistaken for one from the future.
   */
  caughtUp(id: number): Promise<void>;
  /** The highest id retention deleted on topics the selectors match, or 0. */
  prunedThrough(selectors: readonly Selector[]): Promise<number>;
  /** Deletes one small batch of events past retention; resolves with how many went. */
  prune(policy: PrunePolicy): Promise<number>;
  /** A page of the topics holding retained events; each page is a short step, however many topics there are. */
  topics(range: TopicRange): Promise<TopicSummary[]>;
  /**
   * A topic as a reader who may not see its private updates finds it: its other retained events (none of them
   * private), undefined when it holds none. Reads past the private updates at either end of the topic.
   */
  publicSummary(topic: string): Promise<TopicSummary | undefined>;
  /** Retained events, all topics. */
  retained(): Promise<number>;
  /** What the log occupies, and what that figure measures. */
  size(): LogSize;
  onCommit(listener: CommitListener): void;
  onMissed(listener: MissedListener): void;
  /** What is wrong with the store now, if anything, and how often it went wrong (for /health and /metrics). */
  readonly faults: FaultReport;
  /**
   * A store failure met outside the log's own calls (a worker thread's reads on a connection of their own):
   * the log degrades as if it had met it, until its probe finds the store usable again.
   */
  degrade(fault: LogFault): void;
  /** Commits what is queued, checkpoints, closes. */
  close(): Promise<void>;
}
