/** The event log seam: what the hub needs from any store (SQLite today, a shared engine later). */
import type { Selector } from "../names";

/** An event as a publisher hands it over, already validated. */
export interface EventDraft {
  readonly topic: string;
  readonly event: string | null;
  /** The data as compact JSON text. */
  readonly data: string;
}

/** An event committed to the log. */
export interface LoggedEvent extends EventDraft {
  readonly id: number;
  /** Commit time, Unix milliseconds. */
  readonly time: number;
}

export interface TopicSummary {
  readonly topic: string;
  readonly events: number;
  readonly firstId: number;
  readonly lastId: number;
  readonly lastTime: number;
}

/** Called with each committed batch, in commit order, before the publishers are answered. */
export type CommitListener = (events: readonly LoggedEvent[]) => void;

export interface ReadRange {
  readonly selectors: readonly Selector[];
  /** Exclusive lower bound. */
  readonly after: number;
  /** Inclusive upper bound; unbounded when omitted. */
  readonly upTo?: number;
  readonly limit: number;
}

export interface EventLog {
  /** Appends all drafts in one transaction; resolves once they are durable, with ids in draft order. */
  append(drafts: readonly EventDraft[]): Promise<LoggedEvent[]>;
  /** Events matching any selector with an id in the range, in id order, at most `limit`. */
  read(range: ReadRange): Promise<LoggedEvent[]>;
  /** The highest id ever assigned (0 for an empty log), pruned or not. */
  lastId(): number;
  /** The highest id retention deleted on topics the selectors match, or 0. */
  prunedThrough(selectors: readonly Selector[]): Promise<number>;
  topics(): Promise<TopicSummary[]>;
  onCommit(listener: CommitListener): void;
  /** Probes the store; false when it cannot be used. */
  healthy(): boolean;
  close(): Promise<void>;
}
