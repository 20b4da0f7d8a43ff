/** What the soak's clients saw: acknowledged events, counters, and every violation of the contract. */

export interface Acked {
  readonly id: number;
  readonly topic: string;
  readonly event: string | null;
  readonly token: string;
}

export class Ledger {
  readonly acked = new Map<number, Acked>();
  readonly violations: string[] = [];
  /** The highest id any client has seen: committed, so a safe place to resume from. */
  highestSeen = 0;
  readonly counts = {
    published: 0,
    batches: 0,
    retries: 0,
    repeats: 0,
    repeatsAfterRollback: 0,
    abandoned: 0,
    reconnects: 0,
    received: 0,
    runsChecked: 0,
    slowCuts: 0,
  };

  /** Id ranges (from, to] a rollback of the store may have taken away: their absence is no violation. */
  private readonly lost: Array<readonly [number, number]> = [];
  /** Publish requests on their way: a fault that takes the store away waits for every answer it gave first. */
  private readonly onTheirWay = new Set<Promise<unknown>>();

  /** Notes `request` as on its way until it settles. */
  track<T>(request: Promise<T>): Promise<T> {
    this.onTheirWay.add(request);
    const forget = () => this.onTheirWay.delete(request);
    request.then(forget, forget);
    return request;
  }

  /** Resolves once every request on its way now is answered, and what its client does with the answer at once is done. */
  async answered(): Promise<void> {
    await Promise.allSettled([...this.onTheirWay]);
    // A publisher records an answer in the microtasks that follow it, and those all run before the next turn.
    await new Promise((resolve) => setImmediate(resolve));
  }

  excuse(from: number, to: number): void {
    if (to > from) this.lost.push([from, to]);
  }

  /** Whether `id` may be missing from the log because a rollback took it. */
  excused(id: number): boolean {
    return this.lost.some(([from, to]) => id > from && id <= to);
  }

  ack(e: Acked): void {
    const prior = this.acked.get(e.id);
    if (prior && prior.token !== e.token) this.violate(`id ${e.id} acknowledged twice: ${prior.token} and ${e.token}`);
    this.acked.set(e.id, e);
    this.seen(e.id);
  }

  seen(id: number): void {
    if (id > this.highestSeen) this.highestSeen = id;
  }

  violate(what: string): void {
    this.violations.push(`${new Date().toISOString()} ${what}`);
    console.error(`violation: ${what}`);
  }
}

/** A small seeded generator (mulberry32): a soak prints its seed, so its choices can be told apart. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(rnd: () => number, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)] as T;
}
