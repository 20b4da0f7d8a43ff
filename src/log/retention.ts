/** Retention: prunes the log in small background batches so publishing never waits long behind it. */
import type { Logger } from "../logger";
import type { EventLog } from "./event-log";

export interface RetentionPolicy {
  /** 0 keeps events of any age. */
  readonly maxAgeMs: number;
  /** 0 keeps every event of a topic. */
  readonly maxEventsPerTopic: number;
}

/** Events deleted per transaction: a few milliseconds of work at most. */
const BATCH = 500;
const INTERVAL_MS = 1000;

export class Retention {
  private timer: Timer | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Set while sweeps fail: a fault is logged when it starts and when it clears, not once a second. */
  private failing = false;

  constructor(
    private readonly log: EventLog,
    private readonly policy: RetentionPolicy,
    private readonly logger: Logger,
    private readonly onPruned: (count: number) => void,
  ) {}

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweep().then(() => this.schedule());
    }, INTERVAL_MS);
  }

  /** Deletes batch after batch until nothing is due, yielding to the event loop between batches. */
  async sweep(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const deleted = await this.log.prune({
          // Nothing was committed before 1970: a `before` of 0 deletes nothing by age.
          before: this.policy.maxAgeMs > 0 ? Date.now() - this.policy.maxAgeMs : 0,
          maxPerTopic: this.policy.maxEventsPerTopic,
          limit: BATCH,
        });
        total += deleted;
        this.onPruned(deleted);
        if (deleted < BATCH || this.stopped) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (this.failing) this.logger.info("retention works again");
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.error("retention failed; it tries again every second", { error: String(error) });
      this.failing = true;
    }
    if (total > 0) this.logger.debug("retention pruned", { events: total });
    return total;
  }
}
