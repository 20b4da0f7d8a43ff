/**
 * Who listens to a topic: open streams indexed by their selectors, so `/topics` counts a page of topics without
 * looking at every stream, and each stream counts once even when several of its selectors match.
 */
import { type Selector, selectorKey, selects, type TopicPattern } from "../names";
import { PrefixIndex } from "./prefix-index";

/**
 * Whether some topic could match both selectors. Exact where one is a topic; two prefixes or patterns are
 * compared by their literal starts, so a pattern may be said to share a topic it matches none of.
 */
export function canShareTopic(a: Selector, b: Selector): boolean {
  if (!a.isPrefix) return selects(b, a.value);
  if (!b.isPrefix) return selects(a, b.value);
  return a.value.startsWith(b.value) || b.value.startsWith(a.value);
}

/** Whether any topic matched by one list could be matched by the other. */
export function anyShared(a: readonly Selector[], b: readonly Selector[]): boolean {
  return a.some((x) => b.some((y) => canShareTopic(x, y)));
}

/** Whether two of a stream's own selectors can match one topic: only then does counting it need to look for it twice. */
function overlapsItself(selectors: readonly Selector[]): boolean {
  return selectors.some((a, i) => selectors.some((b, j) => j > i && canShareTopic(a, b)));
}

export interface Indexed {
  readonly selectors: readonly Selector[];
}

/** The streams under one selector: most are counted; those with overlapping selectors are kept, to be counted once. */
interface Slot<T> {
  counted: number;
  overlapping: Set<T>;
  /** A pattern's own test: its slot is filed under the pattern's literal start, which topics it misses share. */
  readonly pattern?: TopicPattern;
}

export class ListenerIndex<T extends Indexed> {
  /** The slots of exact topics, by topic. */
  private readonly exact = new Map<string, Slot<T>>();
  /** The slots of prefixes and patterns, by selector key. */
  private readonly starting = new Map<string, Slot<T>>();
  /** The same slots, filed under the literal start of every topic they match. */
  private readonly byStart = new PrefixIndex<Slot<T>>();

  add(item: T): void {
    const overlapping = overlapsItself(item.selectors);
    for (const s of item.selectors) {
      const slot = this.slot(s, true) as Slot<T>;
      if (overlapping) slot.overlapping.add(item);
      else slot.counted++;
    }
  }

  remove(item: T): void {
    const overlapping = overlapsItself(item.selectors);
    for (const s of item.selectors) {
      const slot = this.slot(s, false);
      if (!slot) continue;
      if (overlapping) slot.overlapping.delete(item);
      else slot.counted--;
      if (slot.counted > 0 || slot.overlapping.size > 0) continue;
      if (!s.isPrefix) this.exact.delete(s.value);
      else {
        this.starting.delete(selectorKey(s));
        this.byStart.remove(s.value, slot);
      }
    }
  }

  /** The streams that receive `topic`: one lookup for the topic and a walk down the trie, never a scan of streams. */
  count(topic: string): number {
    let counted = 0;
    let overlapping: Set<T> | undefined;
    const visit = (slot: Slot<T> | undefined) => {
      if (!slot || (slot.pattern !== undefined && !slot.pattern.test(topic))) return;
      counted += slot.counted;
      if (slot.overlapping.size === 0) return;
      overlapping ??= new Set();
      for (const item of slot.overlapping) overlapping.add(item);
    };
    visit(this.exact.get(topic));
    this.byStart.forEachMatch(topic, visit);
    return counted + (overlapping?.size ?? 0);
  }

  /** The slot of `s`, made (and filed) when `create` is set and it has none. */
  private slot(s: Selector, create: boolean): Slot<T> | undefined {
    const index = s.isPrefix ? this.starting : this.exact;
    const key = s.isPrefix ? selectorKey(s) : s.value;
    let slot = index.get(key);
    if (slot || !create) return slot;
    slot = { counted: 0, overlapping: new Set(), ...(s.pattern && { pattern: s.pattern }) };
    index.set(key, slot);
    if (s.isPrefix) this.byStart.add(s.value, slot);
    return slot;
  }
}
