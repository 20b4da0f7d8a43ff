/**
 * Batches stream writes when the hub is busy: a quiet hub writes at the end of the current task, a busy one
 * at most once per interval, so a stream gets several commits in one write instead of one write each.
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
    if (performance.now() - this.lastFlush >= INTERVAL_MS) queueMicrotask(() => this.flushAll());
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
