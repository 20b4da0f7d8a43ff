/**
 * The seam through which the nodes of a shared log tell each other who listens: each node hands over its own
 * streams' opens and closes and hears of every other node's, with a node that dies forgotten by all. Presence is
 * live state, never events: nothing here goes through the log.
 */

/** An open stream as nodes share it: plain JSON, turned back into selectors by the node that receives it. */
export interface SharedSubscription {
  readonly id: string;
  /** The stream's selectors as written (a Mercure subscription's matchers). */
  readonly selectors: readonly string[];
  /** A Mercure subscription's matcher type for each selector. */
  readonly matchTypes?: readonly string[];
  /** A Mercure subscription's payload for each selector, where its token's authorization details name one. */
  readonly payloads?: readonly unknown[];
  readonly subject: string | null;
  readonly payload: unknown;
  /** ms since the epoch. */
  readonly since: number;
}

/** What another node's streams became: a node is an opaque id, new for each process. */
export interface PresenceHandlers {
  /** Streams of `node` opened and closed, in that order. */
  changed(node: string, opened: readonly SharedSubscription[], closed: readonly string[]): void;
  /** Everything `node` holds now: what was known of it before is replaced. */
  replaced(node: string, subscriptions: readonly SharedSubscription[]): void;
  /** `node` left, or stopped refreshing its liveness: its streams are gone. */
  gone(node: string): void;
}

export interface PresenceExchange {
  /** Starts hearing from the other nodes; `own` is what this node holds, written whole when its share must be rebuilt. */
  start(handlers: PresenceHandlers, own: () => readonly SharedSubscription[]): Promise<void>;
  /** One of this node's streams opened; shared soon, with others that opened or closed meanwhile. */
  opened(subscription: SharedSubscription): void;
  closed(id: string): void;
  /**
   * Resolves once what the others changed before this call is known here, where the exchange can tell (the worker
   * threads of one process); without it, presence lists what it last heard.
   */
  settled?(): Promise<void>;
  /** Tells the other nodes this one is leaving (its streams with it) and stops. */
  stop(): Promise<void>;
}
