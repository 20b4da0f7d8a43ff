/**
 * Which commit each worker has handed to its streams, how many streams it holds, and the beats of its event loop,
 * in memory every thread shares: a publisher's worker reads
 * it to answer only once every serving worker has the event, and waits on it (Atomics.waitAsync) only when one
 * is behind. A message back to the main thread for every commit from every worker cost more than the fan-out.
 */

/** Slots, by worker number (1 to 256, HERALD_WORKERS's range). */
const SLOTS = 257;
/** What a slot's applied commit reads once its worker is gone: no commit id, so a wait on the value it had ends. */
const GONE = -1n;

export class Board {
  private readonly applied: BigInt64Array;
  private readonly serving: Int32Array;
  /** The streams each worker holds: /health sums them at once, never a turn behind another thread. */
  private readonly streams: Int32Array;
  /** Counted up by each thread's event loop (the main thread's in slot 0): one that stands still has stopped answering. */
  private readonly beats: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.applied = new BigInt64Array(buffer, 0, SLOTS);
    this.serving = new Int32Array(buffer, SLOTS * 8, SLOTS);
    this.streams = new Int32Array(buffer, SLOTS * 12, SLOTS);
    this.beats = new Int32Array(buffer, SLOTS * 16, SLOTS);
  }

  static create(): Board {
    return new Board(new SharedArrayBuffer(SLOTS * 8 + SLOTS * 4 * 3));
  }

  /** The event loop of the thread in `slot` ran. */
  beat(slot: number): void {
    Atomics.add(this.beats, slot, 1);
  }

  /** The beats of the thread in `slot` so far, or undefined while it does not serve. */
  beatsOf(slot: number): number | undefined {
    return Atomics.load(this.serving, slot) === 1 ? Atomics.load(this.beats, slot) : undefined;
  }

  /** Worker `index` holds one more stream: the function returned counts it out, once. */
  countStream(index: number): () => void {
    Atomics.add(this.streams, index, 1);
    let counted = true;
    return () => {
      if (!counted) return;
      counted = false;
      Atomics.sub(this.streams, index, 1);
    };
  }

  /** Worker `index` is gone, and its streams with it. */
  dropStreams(index: number): void {
    Atomics.store(this.streams, index, 0);
  }

  /** Streams held on every worker. */
  streamCount(): number {
    let count = 0;
    for (let i = 1; i < SLOTS; i++) count += Atomics.load(this.streams, i);
    return count;
  }

  /** Worker `index` has handed every commit through `id` to its streams. */
  apply(index: number, id: number): void {
    Atomics.store(this.applied, index, BigInt(id));
    Atomics.notify(this.applied, index);
  }

  /**
   * Whether publishers wait for worker `index`: from just before it listens until it is gone. The watchdog looks
   * at the beats of serving slots only; slot 0, the main thread's, serves from the start (publishers count from 1).
   */
  serve(index: number, serving: boolean): void {
    Atomics.store(this.serving, index, serving ? 1 : 0);
    if (serving) return;
    // After `serving`: a publisher that read the slot's commit, then saw it serve, finds the commit changed when
    // it waits, and looks again. A worker that joins in its place sets its head first.
    Atomics.store(this.applied, index, GONE);
    Atomics.notify(this.applied, index);
  }

  /** Resolves once every serving worker has handed commits through `id` to its streams. */
  async everyoneHas(id: number): Promise<void> {
    const target = BigInt(id);
    for (let i = 1; i < SLOTS; i++) {
      for (;;) {
        // The value waited on is the one compared: a store between the two would otherwise go unnoticed until the next.
        const seen = Atomics.load(this.applied, i);
        if (seen >= target || Atomics.load(this.serving, i) !== 1) break;
        // No timeout: a timed wait costs a timer per publish, and every change of the slot that matters notifies.
        const wait = Atomics.waitAsync(this.applied, i, seen);
        if (wait.async) await wait.value;
      }
    }
  }
}
