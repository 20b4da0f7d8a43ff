/**
 * A worker's presence shared with the other workers of its process through the main thread (presence-relay.ts):
 * the PresenceExchange a cluster node shares through Redis, one level down. Its streams' opens and closes of a
 * turn go out as one note; every other worker's, and in cluster mode every other node's, come back.
 */
import type { PresenceExchange, PresenceHandlers, SharedSubscription } from "../log/presence-exchange";
import type { Channel } from "./channel";
import type { FromWorker, PresenceChange, PresenceNews, PresenceShares, ToWorker } from "./protocol";

export class WorkerPresence implements PresenceExchange {
  private opens: SharedSubscription[] = [];
  private closes: string[] = [];

  constructor(private readonly channel: Channel<FromWorker, ToWorker>) {}

  async start(handlers: PresenceHandlers, own: () => readonly SharedSubscription[]): Promise<void> {
    const others = JSON.parse(await this.channel.request("joinPresence", JSON.stringify(own()))) as PresenceShares;
    for (const [node, subscriptions] of others) handlers.replaced(node, subscriptions);
    // Only now: news that came with the answer is held until then, and changes what the answer said, never the reverse.
    this.channel.on("presence", (json) => {
      const news = JSON.parse(json) as PresenceNews;
      if ("gone" in news) handlers.gone(news.node);
      else if ("all" in news) handlers.replaced(news.node, news.all);
      else handlers.changed(news.node, news.opened, news.closed);
    });
    // Notes leave in the order they were sent: this answer goes after every change sent before it.
    this.channel.handle("flushPresence", () => null);
  }

  opened(subscription: SharedSubscription): void {
    if (this.opens.push(subscription) + this.closes.length === 1) queueMicrotask(() => this.send());
  }

  closed(id: string): void {
    if (this.closes.push(id) + this.opens.length === 1) queueMicrotask(() => this.send());
  }

  /** Resolves once every other worker's changes made before now are known here. */
  async settled(): Promise<void> {
    await this.channel.request("settlePresence", null);
  }

  /** Nothing to say: the main thread drops this worker's share when the worker is gone. */
  async stop(): Promise<void> {}

  private send(): void {
    const change: PresenceChange = { opened: this.opens, closed: this.closes };
    this.opens = [];
    this.closes = [];
    this.channel.notify("presence", JSON.stringify(change));
  }
}
