/**
 * This node's tail of the shared log: a blocking read on its own connection hands every new event, in
 * commit order, to the hub. Each node's broadcaster is fed from here, never by its own publishes.
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

export interface TailHandlers {
  /** Committed events, in id order, each exactly once. */
  deliver(events: readonly LoggedEvent[]): void;
  /** Events after `after` up to `through` were pruned before this node could read them. */
  missed(after: number, through: number): void;
}

export class Tail {
  private client: RedisClient;
  private running = true;
  private loop: Promise<void> = Promise.resolve();
  private waiters: Array<{ id: number; resolve: () => void }> = [];
  /** False while Redis cannot be read. */
  connected = true;

  constructor(
    private readonly url: string,
    private readonly keys: LogKeys,
    /** The last id handed to the hub. */
    private last: number,
    private readonly handlers: TailHandlers,
    private readonly logger: Logger,
  ) {
    this.client = createClient(url);
  }

  get head(): number {
    return this.last;
  }

  start(): void {
    this.loop = this.run();
  }

  /** Resolves once events up to `id` were handed to the hub, or at once while Redis cannot be read. */
  reached(id: number): Promise<void> {
    if (id <= this.last || !this.connected) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ id, resolve }));
  }

  async stop(): Promise<void> {
    this.running = false;
    this.client.close();
    await this.loop;
    this.release(() => true);
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
        this.take(entries.map(entryEvent));
      } catch (error) {
        if (!this.running) return;
        if (!failing) this.logger.error("redis log unreachable: streams wait for it", { error: String(error) });
        failing = true;
        this.connected = false;
        // Publishers waiting on this node's tail are answered: their events are committed all the same.
        this.release(() => true);
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
      this.keys.log,
      entryId(id),
    ]);
    let timer: Timer | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("read stalled")), STALL_MS);
    });
    try {
      return streamEntries(await Promise.race([read, stalled]), this.keys.log);
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

  private take(events: readonly LoggedEvent[]): void {
    const first = events[0];
    const last = events[events.length - 1];
    if (!first || !last) return;
    // Ids are assigned without holes, so a jump means retention deleted events before this node read them.
    const expected = this.last + 1;
    this.last = last.id;
    try {
      if (first.id !== expected) this.handlers.missed(expected - 1, first.id - 1);
      for (let i = 1; i < events.length; i++) {
        const prev = (events[i - 1] as LoggedEvent).id;
        const id = (events[i] as LoggedEvent).id;
        if (id !== prev + 1) this.handlers.missed(prev, id - 1);
      }
      this.handlers.deliver(events);
    } catch (error) {
      this.logger.error("delivering committed events failed", { error: String(error) });
    }
    this.release((w) => w.id <= this.last);
  }

  private release(done: (w: { id: number }) => boolean): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) {
      if (done(w)) w.resolve();
      else this.waiters.push(w);
    }
  }
}
