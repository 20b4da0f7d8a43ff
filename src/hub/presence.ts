/**
 * Presence: the open streams of this process, and (in cluster mode) those other nodes share, as live state. Nothing
 * here touches the log: a storm of connects costs a few map updates, never a write or a sync.
 */
import type { Selector } from "../names";
import { anyShared, ListenerIndex } from "./listeners";

/** What a stream tells of its reader, from the token that opened it. */
export interface Listener {
  /** The token's `sub`. */
  readonly subject: string | null;
  /** The `payload` member of the token's `herald` or `mercure` claim: any JSON value. */
  readonly payload: unknown;
  /** A Mercure subscription's matcher type for each selector, in selector order (`exact`, `urlpattern`, `template`). */
  readonly matchTypes?: readonly string[];
  /** A Mercure subscription's payload for each selector where draft 08's authorization details name one. */
  readonly payloads?: readonly unknown[];
}

export const NO_ONE: Listener = { subject: null, payload: null };

/** One open stream as presence knows it. */
export interface PresenceEntry extends Listener {
  /** Opaque, unique per connection on every node: a URN of a UUID (version 7, so ids sort by when streams opened). */
  readonly id: string;
  readonly selectors: readonly Selector[];
  /** When the stream opened, ms since the epoch. */
  readonly since: number;
  /** The node that holds the stream, when another node of a cluster does. */
  readonly node?: string;
}

/** A stream opened (`active`) or closed, here or on another node. */
export type PresenceListener = (entry: PresenceEntry, active: boolean) => void;

const ID = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether `text` has the form of a presence id (a page cursor must be one). */
export function isPresenceId(text: string): boolean {
  return ID.test(text);
}

export interface PresencePage {
  readonly entries: readonly PresenceEntry[];
  /** Every matching entry, on every page. */
  readonly count: number;
}

export interface PresenceQuery {
  readonly selectors: readonly Selector[];
  /** Exclusive lower bound: an id, or "" to start at the first. */
  readonly after: string;
  readonly limit: number;
}

/**
 * The id of a stream of this process, made from the time it opened (ids sort by it): a stream makes it when first
 * asked for (a page of the list, another thread or node told of it), so a stream no one lists costs no id.
 */
export function streamId(since: number): string {
  return `urn:uuid:${Bun.randomUUIDv7("hex", since)}`;
}

export class Presence {
  /** This process's own streams. */
  private readonly own = new Set<PresenceEntry>();
  /** Other nodes' streams, by id. */
  private readonly others = new Map<string, PresenceEntry>();
  /** The ids of other nodes' streams, by node. */
  private readonly nodes = new Map<string, Set<string>>();
  private readonly index = new ListenerIndex<PresenceEntry>();
  private readonly listeners: PresenceListener[] = [];
  /** Every entry in id order, made when a page is asked for and kept until the entries change. */
  private sorted: PresenceEntry[] | undefined;
  private settle: () => Promise<void> = () => Promise.resolve();

  /** Entries known, on every node. */
  get size(): number {
    return this.own.size + this.others.size;
  }

  onChange(listener: PresenceListener): void {
    this.listeners.push(listener);
  }

  /** `settle` resolves once the streams other threads of this process opened or closed before it was called are known here. */
  settleWith(settle: () => Promise<void>): void {
    this.settle = settle;
  }

  /** Resolves once the entries include every stream opened before now on this process's other threads, and none closed there. */
  settled(): Promise<void> {
    return this.settle();
  }

  /**
   * A stream of this process opened. The stream is its own entry: a small object kept for each idle stream, made
   * among the garbage of its opening, held some 700 B of heap blocks per stream (heap counts, 3000 streams).
   */
  opened(stream: PresenceEntry): void {
    this.own.add(stream);
    this.added(stream);
  }

  /** A stream of this process closed; one that never opened is no change. */
  closed(stream: PresenceEntry): void {
    if (!this.own.delete(stream)) return;
    this.removed(stream);
  }

  /** This process's streams. */
  ownEntries(): PresenceEntry[] {
    return [...this.own.values()];
  }

  /** Streams of another node opened and closed, in that order; an entry already known is no change. */
  changed(node: string, opened: readonly PresenceEntry[], closed: readonly string[]): void {
    let ids = this.nodes.get(node);
    if (!ids) {
      ids = new Set();
      this.nodes.set(node, ids);
    }
    for (const entry of opened) {
      if (this.others.has(entry.id)) continue;
      ids.add(entry.id);
      this.others.set(entry.id, entry);
      this.added(entry);
    }
    for (const id of closed) {
      if (ids.delete(id)) this.removeOther(id);
    }
  }

  /** Everything another node holds now: what is new opens, what is missing closes, the rest stays as it was. */
  replaced(node: string, entries: readonly PresenceEntry[]): void {
    const now = new Set(entries.map((e) => e.id));
    const closed = [...(this.nodes.get(node) ?? [])].filter((id) => !now.has(id));
    this.changed(node, entries, closed);
  }

  /** Another node left or died: its streams close. */
  gone(node: string): void {
    const ids = this.nodes.get(node);
    if (!ids) return;
    this.nodes.delete(node);
    for (const id of ids) this.removeOther(id);
  }

  /** The streams that receive `topic`. */
  count(topic: string): number {
    return this.index.count(topic);
  }

  /** A page of the entries whose selectors can match a topic the query's selectors match, in id order. */
  page({ selectors, after, limit }: PresenceQuery): PresencePage {
    const out: PresenceEntry[] = [];
    let count = 0;
    for (const entry of this.inOrder()) {
      if (!anyShared(selectors, entry.selectors)) continue;
      count++;
      if (out.length < limit && entry.id > after) out.push(entry);
    }
    return { entries: out, count };
  }

  private added(entry: PresenceEntry): void {
    this.index.add(entry);
    this.sorted = undefined;
    this.tell(entry, true);
  }

  private removeOther(id: string): void {
    const entry = this.others.get(id);
    if (!entry) return;
    this.others.delete(id);
    this.removed(entry);
  }

  private removed(entry: PresenceEntry): void {
    this.index.remove(entry);
    this.sorted = undefined;
    this.tell(entry, false);
  }

  /** Every entry, on every node, in id order. */
  inOrder(): readonly PresenceEntry[] {
    this.sorted ??= [...this.own.values(), ...this.others.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.sorted;
  }

  private tell(entry: PresenceEntry, active: boolean): void {
    for (const listener of this.listeners) listener(entry, active);
  }
}
