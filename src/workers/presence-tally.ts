/**
 * How many presence changes each worker has sent, in memory every thread shares, beside how many this thread has
 * been told of: a thread that has heard every change sent answers for presence at once, and only one that has not
 * waits for them (a wait would make Bun close a pipelined connection). As the board does for commits.
 */

/** Slots, by worker number (1 to 256, HERALD_WORKERS's range), as on the board. */
const SLOTS = 257;

export class PresenceTally {
  private readonly sent: Int32Array;
  /** The last change of each worker this thread knows. */
  private readonly heard = new Int32Array(SLOTS);

  constructor(readonly buffer: SharedArrayBuffer) {
    this.sent = new Int32Array(buffer);
  }

  static create(): PresenceTally {
    return new PresenceTally(new SharedArrayBuffer(SLOTS * 4));
  }

  /** Worker `index` sends one more change: its number. */
  next(index: number): number {
    return Atomics.add(this.sent, index, 1) + 1;
  }

  /** Every change of worker `index` through `seq` is known here. */
  know(index: number, seq: number): void {
    if (seq > (this.heard[index] ?? 0)) this.heard[index] = seq;
  }

  /** A worker that is gone: every change it sent is accounted for (what it held is dropped whole). */
  forget(index: number): number {
    const all = Atomics.load(this.sent, index);
    this.know(index, all);
    return all;
  }

  /** Whether every change sent by every worker but `self` is known here. */
  upToDate(self = 0): boolean {
    for (let i = 1; i < SLOTS; i++) {
      if (i !== self && Atomics.load(this.sent, i) > (this.heard[i] ?? 0)) return false;
    }
    return true;
  }

  /** What this thread knows, for a thread that joins: [worker, last change] pairs. */
  known(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    this.heard.forEach((seq, index) => {
      if (seq > 0) out.push([index, seq]);
    });
    return out;
  }
}
