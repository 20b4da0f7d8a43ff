/** Fan-out: hands each committed batch, encoded once, to every subscriber whose selectors match. */
import type { LoggedEvent } from "../log/event-log";
import { type Selector, selectorKey, type TopicPattern } from "../names";
import { encodeEvent, joinChunks, type WireForm } from "../sse/encode";
import { PrefixIndex } from "./prefix-index";

const FORMS: Record<WireForm, number> = { data: 0, envelope: 1, mercure: 2 };

/** One committed batch, each event encoded at most once per wire form and shared by every stream. */
export class EncodedBatch {
  /** By form (made on first use: most batches are read in one form). */
  private readonly frames: Array<Array<Uint8Array | undefined> | undefined> = [];
  /** Joined chunks by form, then by index list: streams matched by the same topic share one list, and so one chunk. */
  private readonly joined: Array<Map<readonly number[], Uint8Array> | undefined> = [];

  constructor(readonly events: readonly LoggedEvent[]) {}

  frame(index: number, form: WireForm): Uint8Array {
    const at = FORMS[form];
    const frames = this.frames[at] ?? [];
    this.frames[at] = frames;
    let bytes = frames[index];
    if (bytes === undefined) {
      bytes = encodeEvent(this.events[index] as LoggedEvent, form);
      frames[index] = bytes;
    }
    return bytes;
  }

  /** The bytes of the given events as one chunk, so a stream gets one write per batch. */
  chunk(indexes: readonly number[], form: WireForm): Uint8Array {
    if (indexes.length === 1) return this.frame(indexes[0] as number, form);
    const at = FORMS[form];
    const cache = this.joined[at] ?? new Map<readonly number[], Uint8Array>();
    this.joined[at] = cache;
    let bytes = cache.get(indexes);
    if (bytes === undefined) {
      bytes = joinChunks(indexes.map((i) => this.frame(i, form)));
      cache.set(indexes, bytes);
    }
    return bytes;
  }
}

export interface Subscriber {
  readonly selectors: readonly Selector[];
  readonly form: WireForm;
  /** Whether this subscriber may receive a private update its selectors match. */
  readsPrivate(e: LoggedEvent): boolean;
  /** The events of `batch` at `indexes` match this subscriber; it must not throw. */
  receive(batch: EncodedBatch, indexes: readonly number[]): void;
}

/**
 * The streams of one distinct pattern: it is tested once per topic of a batch, however many streams hold it, and
 * only for topics that start with its literal prefix.
 */
interface PatternSubscribers {
  readonly prefix: string;
  readonly pattern: TopicPattern;
  readonly subs: Set<Subscriber>;
}

export class Broadcaster {
  private readonly exact = new Map<string, Set<Subscriber>>();
  private readonly prefixes = new PrefixIndex<Subscriber>();
  private readonly patterns = new Map<string, PatternSubscribers>();
  /** The same, filed by literal prefix: a topic meets only the patterns it could match (per-user templates are many). */
  private readonly patternPrefixes = new PrefixIndex<PatternSubscribers>();
  private head: number;

  /** @param head the log's last id when the broadcaster starts */
  constructor(head: number) {
    this.head = head;
  }

  /** The id of the last event handed out; every later event reaches subscribers added now. */
  lastId(): number {
    return this.head;
  }

  add(sub: Subscriber): number {
    for (const s of sub.selectors) {
      if (s.pattern !== undefined) {
        // Patterns are one when their kind and text are: a hub compiles them all the same way.
        const key = selectorKey(s);
        let entry = this.patterns.get(key);
        if (entry === undefined) {
          entry = { prefix: s.value, pattern: s.pattern, subs: new Set<Subscriber>() };
          this.patterns.set(key, entry);
          this.patternPrefixes.add(entry.prefix, entry);
        }
        entry.subs.add(sub);
        continue;
      }
      if (s.isPrefix) {
        this.prefixes.add(s.value, sub);
        continue;
      }
      const set = this.exact.get(s.value) ?? new Set<Subscriber>();
      this.exact.set(s.value, set.add(sub));
    }
    return this.head;
  }

  remove(sub: Subscriber): void {
    for (const s of sub.selectors) {
      if (s.pattern !== undefined) {
        const key = selectorKey(s);
        const entry = this.patterns.get(key);
        entry?.subs.delete(sub);
        if (entry?.subs.size === 0) {
          this.patterns.delete(key);
          this.patternPrefixes.remove(entry.prefix, entry);
        }
        continue;
      }
      if (s.isPrefix) {
        this.prefixes.remove(s.value, sub);
        continue;
      }
      const set = this.exact.get(s.value);
      set?.delete(sub);
      if (set?.size === 0) this.exact.delete(s.value);
    }
  }

  /** The subscribers whose selectors match `topic`: who gets what the hub sends outside the log. */
  subscribersOf(topic: string): Set<Subscriber> {
    const found = new Set<Subscriber>();
    this.forEachMatch(topic, (sub) => found.add(sub));
    return found;
  }

  /** Calls `visit` with each subscriber one of whose selectors matches `topic` (once per selector that does). */
  private forEachMatch(topic: string, visit: (sub: Subscriber) => void): void {
    this.exact.get(topic)?.forEach(visit);
    this.prefixes.forEachMatch(topic, visit);
    this.patternPrefixes.forEachMatch(topic, ({ pattern, subs }) => {
      if (pattern.test(topic)) subs.forEach(visit);
    });
  }

  /** Called by the log with each committed batch, in commit order. */
  dispatch(events: readonly LoggedEvent[]): void {
    const last = events[events.length - 1];
    if (!last) return;
    this.head = last.id;
    const batch = new EncodedBatch(events);
    const byTopic = new Map<string, number[]>();
    const index = (topic: string, i: number) => {
      const list = byTopic.get(topic);
      if (list) list.push(i);
      else byTopic.set(topic, [i]);
    };
    let anyPrivate = false;
    events.forEach((e, i) => {
      index(e.topic, i);
      // An update is listed under each of its topics (distinct, as the log keeps them); a stream matched
      // through several of them gets it once, from the merge below.
      if (e.alternates !== undefined) for (const topic of e.alternates) index(topic, i);
      if (e.private === true) anyPrivate = true;
    });
    // Streams matched through one topic share its index list (and its chunk); only a stream whose
    // selectors overlap gets a merged list of its own, still each event once and in id order.
    const matched = new Map<Subscriber, readonly number[]>();
    const add = (indexes: readonly number[]) => (sub: Subscriber) => {
      const earlier = matched.get(sub);
      matched.set(sub, earlier === undefined ? indexes : mergeIndexes(earlier, indexes));
    };
    for (const [topic, indexes] of byTopic) this.forEachMatch(topic, add(indexes));
    if (anyPrivate) {
      for (const [sub, indexes] of matched) {
        const allowed = indexes.filter(
          (i) => (events[i] as LoggedEvent).private !== true || sub.readsPrivate(events[i] as LoggedEvent),
        );
        if (allowed.length > 0) sub.receive(batch, allowed.length === indexes.length ? indexes : allowed);
      }
      return;
    }
    for (const [sub, indexes] of matched) sub.receive(batch, indexes);
  }
}

/** The sorted union of two sorted index lists. */
function mergeIndexes(a: readonly number[], b: readonly number[]): number[] {
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}
