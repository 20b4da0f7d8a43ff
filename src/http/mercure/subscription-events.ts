/**
 * Mercure's subscription events (HERALD_MERCURE_SUBSCRIPTIONS): each time a Mercure subscription opens or
 * closes, on this node or another, every Mercure stream here whose matchers match the subscription's topic
 * and whose token grants it gets the subscription's document, in its own draft's form (when that form can
 * describe the matcher), as a private update of type `mercure`. These are live state: never written to the log, never replayed.
 */
import type { Reader } from "../../auth/authorizer";
import type { Subscriber } from "../../hub/broadcaster";
import type { Hub } from "../../hub/hub";
import type { PresenceEntry } from "../../hub/presence";
import type { Subscription } from "../../hub/subscription";
import type { Metrics } from "../../metrics";
import { noticeFrame } from "../../sse/encode";
import {
  type Draft,
  describes,
  type MercureSubscription,
  subscriptionDocument,
  subscriptionsOf,
  subscriptionTopic,
} from "./subscription-documents";

/** The SSE type draft 08 reserves for what the hub itself publishes. */
const EVENT_TYPE = "mercure";
const DRAFTS: readonly Draft[] = [7, 8];

interface Watcher {
  readonly stream: Subscription;
  readonly draft: Draft;
  readonly reader: Reader;
}

export class SubscriptionEvents {
  private readonly watchers = new Map<Subscriber, Watcher>();
  private changes: Array<readonly [PresenceEntry, boolean]> = [];

  constructor(
    private readonly hub: Hub,
    private readonly metrics: Metrics,
  ) {
    hub.presence.onChange((entry, active) => {
      if (entry.matchTypes === undefined) return;
      // Sent after the current task: a stream that just opened knows its position in the log by then, and a
      // storm of connects is gone through once.
      if (this.changes.push([entry, active]) === 1) queueMicrotask(() => this.send());
    });
  }

  /** A Mercure stream that may receive subscription events: those of its draft, on topics its token grants. */
  watch(stream: Subscription, draft: Draft, reader: Reader): void {
    this.watchers.set(stream, { stream, draft, reader });
    void stream.ended.then(() => this.watchers.delete(stream));
  }

  private send(): void {
    const changes = this.changes;
    this.changes = [];
    if (this.watchers.size === 0) return;
    for (const [entry, active] of changes) {
      for (const s of subscriptionsOf(entry)) {
        for (const draft of DRAFTS) if (describes(draft, s)) this.deliver(s, draft, active);
      }
    }
  }

  private deliver(s: MercureSubscription, draft: Draft, active: boolean): void {
    const topic = subscriptionTopic(s, draft);
    let data: string | undefined;
    for (const subscriber of this.hub.subscribersOf(topic)) {
      const watcher = this.watchers.get(subscriber);
      // Private: only for a token that grants reading the subscription's topic.
      if (watcher?.draft !== draft || !watcher.reader.grantsAny([topic])) continue;
      data ??= JSON.stringify(subscriptionDocument(s, draft, active));
      const json = data;
      watcher.stream.notify((position) => noticeFrame(position, "mercure", EVENT_TYPE, json));
      this.metrics.presenceEvents++;
    }
  }
}
