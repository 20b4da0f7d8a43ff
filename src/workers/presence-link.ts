/**
 * A worker's presence shared with the other workers of its process through the main thread (presence-relay.ts):
 * the PresenceExchange a cluster node shares through Redis, one level down. Its streams' opens and closes of a
 * turn go out as one note; every other worker's, and in cluster mode every other node's, come back.
 */
import type { PresenceExchange, PresenceHandlers, SharedSubscription } from "../log/presence-exchange";
import type { Channel } from "./channel";
import { PresenceTally } from "./presence-tally";
import type { FromWorker, PresenceChange, PresenceNews, PresenceShares, ToWorker } from "./protocol";

export class WorkerPresence implements PresenceExchange {
  private opens: SharedSubscription[] = [];
  private closes: string[] = [];
  /** The number of the change this turn's opens and closes make. */
  private seq = 0;
  /** Its own until it joins, then the one every thread shares. */
  private tally = PresenceTally.create();

  /** @param index this worker's number */
  constructor(
    private readonly channel: Channel<FromWorker, ToWorker>,
    private readonly index: number,
  ) {}

  async start(handlers: PresenceHandlers, own: () => readonly SharedSubscription[]): Promise<void> {
    const joined = await this.channel.request("joinPresence", JSON.stringify(own()));
    this.tally = new PresenceTally(joined.tally);
    for (const [index, seq] of joined.known) this.tally.know(index, seq);
    for (const [node, subscriptions] of JSON.parse(joined.shares) as PresenceShares) handlers.replaced(node, subscriptions);
    // Only now: news that came with the answer is held until then, and changes what the answer said, never the reverse.
    this.channel.on("presence", (json) => {
      const news = JSON.parse(json) as PresenceNews;
      if ("gone" in news) handlers.gone(news.node);
      else if ("all" in news) handlers.replaced(news.node, news.all);
      else handlers.changed(news.node, news.opened, news.closed);
      if (news.from !== undefined && news.seq !== undefined) this.tally.know(news.from, news.seq);
    });
    // Notes leave in the order they were sent: this answer goes after every change sent before it.
    this.channel.handle("flushPresence", () => null);
  }

  opened(subscription: SharedSubscription): void {
    this.opens.push(subscription);
    this.changed();
  }

  closed(id: string): void {
    this.closes.push(id);
    this.changed();
  }

  /**
   * Resolves once every other worker's changes made before now are known here: at once when every change they
   * counted has come, else once the main thread has had each of them answer after what it sent.
   */
  async settled(): Promise<void> {
    if (this.tally.upToDate(this.index)) return;
    await this.channel.request("settlePresence", null);
  }

  /** Nothing to say: the main thread drops this worker's share when the worker is gone. */
  async stop(): Promise<void> {}

  /** The first change of a turn is counted at once, where every thread sees it; the turn's changes leave together. */
  private changed(): void {
    if (this.opens.length + this.closes.length > 1) return;
    this.seq = this.tally.next(this.index);
    queueMicrotask(() => this.send());
  }

  private send(): void {
    const change: PresenceChange = { seq: this.seq, opened: this.opens, closed: this.closes };
    this.opens = [];
    this.closes = [];
    this.channel.notify("presence", JSON.stringify(change));
  }
}
