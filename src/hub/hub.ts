/** The hub: publish appends to the log, the log's commits feed the broadcaster, streams open here. */
import { HeraldError, RETRY_LATER } from "../errors";
import type { AppendResult, EventDraft, EventLog, Idempotency } from "../log/event-log";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import { selectorKey } from "../names";
import { preamble } from "../sse/encode";
import { Broadcaster, type Subscriber } from "./broadcaster";
import { WriteCoalescer } from "./coalescer";
import { Presence } from "./presence";
import { type CloseReason, type StreamRequest, Subscription, type SubscriptionHost } from "./subscription";

export interface HubOptions {
  readonly retryMs: number;
  readonly heartbeatMs: number;
  readonly subscriberBufferBytes: number;
  readonly maxSubscribers: number;
}

export class Hub {
  /** Who listens: this process's streams, and other nodes' once a cluster shares them. */
  readonly presence = new Presence();
  private readonly broadcaster: Broadcaster;
  private readonly subscriptions = new Set<Subscription>();
  private readonly heartbeats: Timer;
  private readonly host: SubscriptionHost;
  private draining = false;

  constructor(
    private readonly log: EventLog,
    private readonly options: HubOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.broadcaster = new Broadcaster(log.lastId());
    const coalescer = new WriteCoalescer();
    log.onCommit((events) => this.broadcaster.dispatch(events));
    log.onMissed(() => this.missed());
    // One timer for all streams: a comment to each keeps proxies and Bun's idle timeout away.
    this.heartbeats = setInterval(() => {
      for (const sub of this.subscriptions) sub.sendHeartbeat();
    }, options.heartbeatMs);
    this.host = {
      preamble: preamble(options.retryMs),
      budgetBytes: options.subscriberBufferBytes,
      log,
      register: (sub) => {
        this.subscriptions.add(sub);
        const head = this.broadcaster.add(sub);
        // Added first, so a stream whose own selectors match hears of its opening too.
        this.presence.opened(sub);
        return head;
      },
      stopping: () => this.draining,
      closed: (sub, reason) => this.forget(sub, reason),
      delivered: (count) => {
        metrics.delivered += count;
      },
      pending: (sub) => coalescer.mark(sub),
    };
  }

  get subscriberCount(): number {
    return this.subscriptions.size;
  }

  /** The open streams whose selectors match `topic`. */
  subscribersOf(topic: string): Set<Subscriber> {
    return this.broadcaster.subscribersOf(topic);
  }

  get isDraining(): boolean {
    return this.draining;
  }

  async publish(drafts: readonly EventDraft[], idempotency?: Idempotency): Promise<AppendResult> {
    if (this.draining) throw new HeraldError("shutting_down", "the hub is shutting down", RETRY_LATER);
    const started = performance.now();
    const result = await this.log.append(drafts, idempotency);
    this.metrics.publishLatency.observe((performance.now() - started) / 1000);
    // Counted where the publish was answered: in cluster mode every node reads every node's commits, and a
    // counter each node counted the whole cluster's in would be summed over the nodes many times over.
    if (result.replayed) this.metrics.idempotentReplays++;
    else this.metrics.published += result.receipts.length;
    this.metrics.pruned += result.pruned ?? 0;
    return result;
  }

  open(request: StreamRequest): Subscription {
    this.checkRoom();
    return new Subscription(request, this.host);
  }

  /** Throws `too_many_subscribers` while the hub holds as many streams as it may. */
  checkRoom(): void {
    if (this.subscriptions.size >= this.options.maxSubscribers) {
      throw new HeraldError("too_many_subscribers", "the hub has reached its stream limit", RETRY_LATER);
    }
  }

  /**
   * Events this node could not announce were pruned first: a stream that matched one of them gets a gap notice
   * and ends (its client resumes from the log); the others go on, since nothing they wanted is missing.
   */
  private async missed(): Promise<void> {
    const lookups = new Map<string, Promise<number>>();
    const prunedThrough = (sub: Subscription) => {
      const key = sub.selectors.map(selectorKey).join("\n");
      let lookup = lookups.get(key);
      if (!lookup) {
        lookup = this.log.prunedThrough(sub.selectors);
        lookups.set(key, lookup);
      }
      return lookup;
    };
    await Promise.all(
      [...this.subscriptions].map(async (sub) => {
        try {
          sub.missed(await prunedThrough(sub));
        } catch {
          // Whether it lost anything cannot be told now: its client resumes from the log when it is back.
          sub.end();
        }
      }),
    );
  }

  private forget(sub: Subscription, reason: CloseReason): void {
    this.subscriptions.delete(sub);
    this.broadcaster.remove(sub);
    this.presence.closed(sub);
    if (reason === "slow_consumer") {
      this.metrics.slowDropped++;
      this.logger.warn("slow subscriber dropped", { selectors: sub.selectors.map((s) => s.text) });
    }
    if (reason === "error")
      this.logger.error("stream ended by a log read failure", { selectors: sub.selectors.map((s) => s.text) });
  }

  /**
   * Stops accepting publishes, ends every stream cleanly (one that opens from now on ends after its `retry:`) and
   * waits for in-flight publishes to commit.
   */
  async drain(): Promise<void> {
    this.draining = true;
    for (const sub of [...this.subscriptions]) sub.end();
    // Appends queued before draining commit on the next turn; an empty append waits for that (and fails with
    // them when the log is degraded, which changes nothing for a stop).
    await this.log.append([]).catch(() => undefined);
    clearInterval(this.heartbeats);
  }
}
