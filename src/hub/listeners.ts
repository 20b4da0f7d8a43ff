/**
 * Who listens to a topic: open streams indexed by their selectors, so `/topics` counts a page of topics without
 * looking at every stream, and each stream counts once even when several of its selectors match.
 */
import type { Selector } from "../names";

/** Whether some topic could match both selectors. */
export function canShareTopic(a: Selector, b: Selector): boolean {
  if (a.isPrefix && b.isPrefix) return a.value.startsWith(b.value) || b.value.startsWith(a.value);
  if (a.isPrefix) return b.value.startsWith(a.value);
  if (b.isPrefix) return a.value.startsWith(b.value);
  return a.value === b.value;
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
}

export class ListenerIndex<T extends Indexed> {
  private readonly exact = new Map<string, Slot<T>>();
  private readonly prefixes = new Map<string, Slot<T>>();
  /** The longest prefix held: a topic's lookups stop there. */
  private longestPrefix = -1;

  add(item: T): void {
    const overlapping = overlapsItself(item.selectors);
    for (const s of item.selectors) {
      const index = s.isPrefix ? this.prefixes : this.exact;
      let slot = index.get(s.value);
      if (!slot) {
        slot = { counted: 0, overlapping: new Set() };
        index.set(s.value, slot);
        if (s.isPrefix) this.longestPrefix = Math.max(this.longestPrefix, s.value.length);
      }
      if (overlapping) slot.overlapping.add(item);
      else slot.counted++;
    }
  }

  remove(item: T): void {
    const overlapping = overlapsItself(item.selectors);
    for (const s of item.selectors) {
      const index = s.isPrefix ? this.prefixes : this.exact;
      const slot = index.get(s.value);
      if (!slot) continue;
      if (overlapping) slot.overlapping.delete(item);
      else slot.counted--;
      if (slot.counted === 0 && slot.overlapping.size === 0) index.delete(s.value);
    }
    if (this.prefixes.size === 0) this.longestPrefix = -1;
  }

  /** The streams that receive `topic`: one lookup for the topic and one per prefix of it, never a scan of streams. */
  count(topic: string): number {
    let counted = 0;
    let overlapping: Set<T> | undefined;
    const visit = (slot: Slot<T> | undefined) => {
      if (!slot) return;
      counted += slot.counted;
      if (slot.overlapping.size === 0) return;
      overlapping ??= new Set();
      for (const item of slot.overlapping) overlapping.add(item);
    };
    visit(this.exact.get(topic));
    const last = Math.min(topic.length, this.longestPrefix);
    for (let end = 0; end <= last; end++) visit(this.prefixes.get(topic.slice(0, end)));
    return counted + (overlapping?.size ?? 0);
  }
}
