/**
 * This node's tail of the shared log: a blocking read of the feed on its own connection hands every new
 * event, in commit order, to the hub. Each node's broadcaster is fed from here, never by its own publishes.
 */
import type { RedisClient } from "bun";
import type { Logger } from "../../logger";
import type { LoggedEvent } from "../event-log";
import { createClient } from "./connection";
import { entryEvent, entryId, streamEntries } from "./entries";
import type { LogKeys } from "./keys";
import { scripts } from "./scripts";

const BATCH = 1000;
const BLOCK_MS = 1000;
/** A read that has not returned this long after its block ended is on a dead connection. */
const STALL_MS = BLOCK_MS + 4000;
const RETRY_MS = 200;

/** Events read back from the log at a time when the tail fell behind the feed. */
export const BACKFILL_PAGE = 1000;

export interface TailHandlers {
  /** Committed events, in id order, each exactly once. */
  deliver(events: readonly LoggedEvent[]): void;
  /** Up to BACKFILL_PAGE events in (after, through] from the log, for a tail the feed has moved past. */
  backfill(after: number, through: number): Promise<LoggedEvent[]>;
  /** Events after `after` up to `through` were pruned before this node could read them. */
  missed(after: number, through: number): void;
}

interface Waiter {
  readonly id: number;
  /** Waits through an outage rather than giving up when the tail loses Redis. */
  readonly patient: boolean;
  readonly resolve: (reached: boolean) => void;
}

export class Tail {
  private running = true;
  private loop: Promise<void> = Promise.resolve();
  private waiters: Waiter[] = [];
  /** False while Redis cannot be read. */
  connected = true;

  constructor(
    private client: RedisClient,
    private readonly url: string,
    private readonly keys: LogKeys,
    /** The last id handed to the hub. */
    private last: number,
    private readonly handlers: TailHandlers,
    private readonly logger: Logger,
  ) {}

  get head(): number {
    return this.last;
  }

  start(): void {
    this.loop = this.run();
  }

  /** Resolves once events up to `id` were handed to the hub, or as soon as Redis cannot be read. */
  async reached(id: number): Promise<void> {
    if (id > this.last && this.connected) await new Promise((resolve) => this.waiters.push({ id, patient: false, resolve }));
  }

  /** Whether events up to `id` were handed to the hub within `ms`, through reconnects if need be. */
  caughtUp(id: number, ms: number): Promise<boolean> {
    if (id <= this.last) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, ms);
      const waiter: Waiter = {
        id,
        patient: true,
        resolve: (reached) => {
          clearTimeout(timer);
          resolve(reached);
        },
      };
      this.waiters.push(waiter);
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.client.close();
    await this.loop;
    this.release(() => true, false);
  }

  private async run(): Promise<void> {
    let failing = false;
    while (this.running) {
      try {
        // After an outage: Redis may have come back with fewer ids than this node saw; none is handed out again.
        if (failing) await this.keepIdsAbove(this.last);
        const entries = await this.readAfter(this.last);
        if (failing) this.logger.info("redis log reachable again: streams continue", { after: this.last });
        failing = false;
        this.connected = true;
        await this.take(entries.map(entryEvent));
      } catch (error) {
        if (!this.running) return;
        if (!failing) this.logger.error("redis log unreachable: streams wait for it", { error: String(error) });
        failing = true;
        this.connected = false;
        // Publishers waiting on this node's tail are answered: their events are committed all the same.
        this.release((w) => !w.patient, true);
        await Bun.sleep(RETRY_MS);
      }
    }
  }

  private async readAfter(id: number) {
    const read = this.client.send("XREAD", [
      "COUNT",
      String(BATCH),
      "BLOCK",
      String(BLOCK_MS),
      "STREAMS",
      this.keys.feed,
      entryId(id),
    ]);
    let timer: Timer | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("read stalled")), STALL_MS);
    });
    try {
      return streamEntries(await Promise.race([read, stalled]), this.keys.feed);
    } catch (error) {
      if ((error as Error).message === "read stalled") this.replaceClient();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A connection that died without closing never answers: start over on a new one. */
  private replaceClient(): void {
    this.client.close();
    this.client = createClient(this.url);
    this.client.connect().catch(() => {
      // It keeps trying by itself; the next read reports whether it got through.
    });
  }

  private async keepIdsAbove(floor: number): Promise<void> {
    const [before] = (await scripts.head.run(this.client, [this.keys.log, this.keys.head], [floor])) as [number, number];
    if (before < floor) {
      this.logger.error("redis came back without events this node had seen; their ids will not be reused", {
        redisNewestId: before,
        seenThrough: floor,
      });
    }
  }

  private async take(feed: readonly LoggedEvent[]): Promise<void> {
    const first = feed[0];
    if (!first) return;
    let events = feed;
    if (first.id > this.last + 1) {
      // The feed moved past this node (it fell behind): the log has what it skipped, unless retention took it.
      const page = await this.handlers.backfill(this.last, first.id - 1);
      events = page.length === BACKFILL_PAGE ? page : [...page, ...feed];
    }
    // Ids are assigned without holes: one here is events retention deleted before this node read them.
    let previous = this.last;
    for (const e of events) {
      if (e.id !== previous + 1) this.handlers.missed(previous, e.id - 1);
      previous = e.id;
    }
    this.last = previous;
    try {
      this.handlers.deliver(events);
    } catch (error) {
      this.logger.error("delivering committed events failed", { error: String(error) });
    }
    this.release((w) => w.id <= this.last, true);
  }

  private release(done: (w: Waiter) => boolean, reached: boolean): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) {
      if (done(w)) w.resolve(reached);
      else this.waiters.push(w);
    }
  }
}
