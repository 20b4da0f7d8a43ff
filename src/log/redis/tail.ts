/**
 * This node's tail of the shared log: a blocking read of the feed on its own connection hands every new
 * event, in commit order, to the hub. Each node's broadcaster is fed from here, never by its own publishes.
 */
import type { Logger } from "../../logger";
import type { LoggedEvent } from "../event-log";
import { COMMAND_TIMEOUT_MS, type RedisConnection } from "./connection";
import { entryEvent, entryId, streamEntries } from "./entries";
import type { LogKeys } from "./keys";
import { scripts } from "./scripts";

const BATCH = 1000;
const BLOCK_MS = 1000;
const RETRY_MS = 200;

/** Events read back from the log at a time when the tail fell behind the feed. */
export const BACKFILL_PAGE = 1000;

export interface TailHandlers {
  /** Committed events, in id order, each exactly once. */
  deliver(events: readonly LoggedEvent[]): void;
  /** Up to BACKFILL_PAGE events in (after, through] from the log, for a tail the feed has moved past. */
  backfill(after: number, through: number): Promise<LoggedEvent[]>;
  /**
   * Events after `after` up to `through` were pruned before this node could read them; resolves once the
   * streams that lost some of them were told. The events that follow wait for it.
   */
  missed(after: number, through: number): Promise<void>;
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
    private readonly connection: RedisConnection,
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
    this.connection.close();
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
    const args = ["COUNT", String(BATCH), "BLOCK", String(BLOCK_MS), "STREAMS", this.keys.feed, entryId(id)];
    // A read on a connection that died without closing, or to a Redis that is paused, never returns: past
    // its block and a command's deadline, the connection is given up and the next read opens a fresh one.
    return streamEntries(await this.connection.send("XREAD", args, BLOCK_MS + COMMAND_TIMEOUT_MS), this.keys.feed);
  }

  private async keepIdsAbove(floor: number): Promise<void> {
    const [before] = (await scripts.head.run(this.connection, [this.keys.head], [floor])) as [number, number];
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
    const newest = (events[events.length - 1] as LoggedEvent).id;
    if (newest - this.last !== events.length) await this.handlers.missed(this.last, newest);
    this.last = newest;
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
