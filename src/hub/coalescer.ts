/**
 * Batches stream writes when the hub is busy: a quiet hub writes at the next turn of the event loop, a busy one
 * at most once per interval, so a stream gets several commits in one write instead of one write each.
 *
 * The next turn, not the end of the current task: writing a commit to a thousand streams takes milliseconds,
 * and done at once it went before the answers to the commit's publishers and the reading of their next
 * requests. They then waited on it, and the next commit was the smaller for it: one write to every stream for
 * fewer events.
 */

export interface Flushable {
  flush(): void;
}

/** The longest a write waits while commits arrive faster than this. */
const INTERVAL_MS = 1;

export class WriteCoalescer {
  private dirty: Flushable[] = [];
  private scheduled = false;
  private lastFlush = 0;

  /** `stream` has bytes waiting; it is flushed once, however often it is marked before then. */
  mark(stream: Flushable): void {
    this.dirty.push(stream);
    if (this.scheduled) return;
    this.scheduled = true;
    if (performance.now() - this.lastFlush >= INTERVAL_MS) setImmediate(() => this.flushAll());
    else setTimeout(() => this.flushAll(), INTERVAL_MS);
  }

  private flushAll(): void {
    this.scheduled = false;
    this.lastFlush = performance.now();
    const dirty = this.dirty;
    this.dirty = [];
    for (const stream of dirty) stream.flush();
  }
}
