/**
 * Batches stream writes when the hub is busy: a quiet hub writes at the end of the current task, a busy one
 * at most once per interval, so a stream gets several commits in one write instead of one write each.
 *
 * Many streams to write wait for the next turn of the event loop instead: writing a commit to a thousand
 * streams takes milliseconds, and done at once it went before the answers to the commit's publishers and the
 * reading of their next requests. They then waited on it, and the next commit was the smaller for it: one
 * write to every stream for fewer events. A few streams are written at once: the extra turn would cost more
 * than they do.
 */

export interface Flushable {
  flush(): void;
}

/** The longest a write waits while commits arrive faster than this. */
const INTERVAL_MS = 1;
/** Streams written in the task that marked them; more wait for the next turn (each write is a few µs). */
const WRITE_AT_ONCE = 32;

export class WriteCoalescer {
  private dirty: Flushable[] = [];
  private scheduled = false;
  private lastFlush = 0;

  /** `stream` has bytes waiting; it is flushed once, however often it is marked before then. */
  mark(stream: Flushable): void {
    this.dirty.push(stream);
    if (this.scheduled) return;
    this.scheduled = true;
    if (performance.now() - this.lastFlush >= INTERVAL_MS) queueMicrotask(() => this.flushSoon());
    else setTimeout(() => this.flushAll(), INTERVAL_MS);
  }

  /** Runs once the task that marked the streams is done, so it sees every stream that task marked. */
  private flushSoon(): void {
    if (this.dirty.length > WRITE_AT_ONCE) setImmediate(() => this.flushAll());
    else this.flushAll();
  }

  private flushAll(): void {
    this.scheduled = false;
    this.lastFlush = performance.now();
    const dirty = this.dirty;
    this.dirty = [];
    for (const stream of dirty) stream.flush();
  }
}
