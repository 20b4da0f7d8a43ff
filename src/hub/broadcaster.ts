/** Fan-out: hands each committed batch, encoded once, to every subscriber whose selectors match. */
import type { LoggedEvent } from "../log/event-log";
import type { Selector } from "../names";
import { encodeEvent, joinChunks } from "../sse/encode";

/** One committed batch, each event encoded at most once per wire form and shared by every stream. */
export class EncodedBatch {
  private readonly frames: [Array<Uint8Array | undefined>, Array<Uint8Array | undefined>] = [[], []];
  private readonly joined: [Uint8Array | undefined, Uint8Array | undefined] = [undefined, undefined];

  constructor(readonly events: readonly LoggedEvent[]) {}

  frame(index: number, envelope: boolean): Uint8Array {
    const frames = this.frames[envelope ? 1 : 0];
    let bytes = frames[index];
    if (bytes === undefined) {
      bytes = encodeEvent(this.events[index] as LoggedEvent, envelope);
      frames[index] = bytes;
    }
    return bytes;
  }

  /** The bytes of the given events as one chunk, so a stream gets one write per batch. */
  chunk(indexes: readonly number[], envelope: boolean): Uint8Array {
    if (indexes.length === 1) return this.frame(indexes[0] as number, envelope);
    if (indexes.length < this.events.length) return joinChunks(indexes.map((i) => this.frame(i, envelope)));
    const slot = envelope ? 1 : 0;
    let all = this.joined[slot];
    if (all === undefined) {
      all = joinChunks(this.events.map((_, i) => this.frame(i, envelope)));
      this.joined[slot] = all;
    }
    return all;
  }
}

export interface Subscriber {
  readonly selectors: readonly Selector[];
  readonly envelope: boolean;
  /** The events of `batch` at `indexes` match this subscriber; it must not throw. */
  receive(batch: EncodedBatch, indexes: readonly number[]): void;
}

export class Broadcaster {
  private readonly exact = new Map<string, Set<Subscriber>>();
  private readonly prefixes = new Map<string, Set<Subscriber>>();
  private head: number;
  private count = 0;

  /** @param head the log's last id when the broadcaster starts */
  constructor(head: number) {
    this.head = head;
  }

  /** The id of the last event handed out; every later event reaches subscribers added now. */
  lastId(): number {
    return this.head;
  }

  size(): number {
    return this.count;
  }

  add(sub: Subscriber): number {
    for (const s of sub.selectors) {
      const index = s.isPrefix ? this.prefixes : this.exact;
      const set = index.get(s.value) ?? new Set<Subscriber>();
      index.set(s.value, set.add(sub));
    }
    this.count++;
    return this.head;
  }

  remove(sub: Subscriber): void {
    let found = false;
    for (const s of sub.selectors) {
      const index = s.isPrefix ? this.prefixes : this.exact;
      const set = index.get(s.value);
      if (set?.delete(sub)) found = true;
      if (set?.size === 0) index.delete(s.value);
    }
    if (found) this.count--;
  }

  /** Called by the log with each committed batch, in commit order. */
  dispatch(events: readonly LoggedEvent[]): void {
    const last = events[events.length - 1];
    if (!last) return;
    this.head = last.id;
    const batch = new EncodedBatch(events);
    // Subscribers with overlapping selectors appear under several keys: collect each once, in id order.
    const matched = new Map<Subscriber, number[]>();
    events.forEach((e, i) => {
      const add = (sub: Subscriber) => {
        const indexes = matched.get(sub);
        if (indexes === undefined) matched.set(sub, [i]);
        else if (indexes[indexes.length - 1] !== i) indexes.push(i);
      };
      this.exact.get(e.topic)?.forEach(add);
      for (const [prefix, subs] of this.prefixes) if (e.topic.startsWith(prefix)) subs.forEach(add);
    });
    for (const [sub, indexes] of matched) sub.receive(batch, indexes);
  }
}
