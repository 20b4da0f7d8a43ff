/**
 * The log as a worker thread sees it: appends go to the one writer on another thread, whose commits come back
 * here and are announced in commit order, as any log announces its own; reads run on this thread's own
 * connection. The seam the shared log's tail feeds a cluster node through, one level down.
 */
import type { Selector } from "../names";
import type {
  AppendResult,
  CommitListener,
  EventDraft,
  EventLog,
  FramedPage,
  Idempotency,
  LoggedEvent,
  LogReads,
  LogSize,
  MissedListener,
  PrunePolicy,
  ReadRange,
  TopicRange,
  TopicSummary,
} from "./event-log";
import type { FaultReport } from "./fault-state";
import type { LogFault } from "./faults";

/** What a worker asks of the thread that owns the log's writes. */
export interface LogWriter {
  append(drafts: readonly EventDraft[], idempotency?: Idempotency): Promise<AppendResult>;
  /**
   * Resolves once the writer has announced every event up to `id` that exists, and so (its announcements
   * travelling ahead of its answer) once this thread has been handed them too; rejects as the writer's log does.
   */
  caughtUp(id: number): Promise<void>;
  prune(policy: PrunePolicy): Promise<number>;
  /** A store failure this thread's reads ran into. */
  degrade(fault: LogFault): void;
}

/** The writer's view of the store, as last told: what /health and /metrics read. */
export interface WriterStatus {
  readonly faults: FaultReport;
  readonly size: LogSize;
}

export class WorkerLog implements EventLog {
  private readonly reads: LogReads;
  private readonly listeners: CommitListener[] = [];
  private readonly missedListeners: MissedListener[] = [];
  private status: WriterStatus;

  /**
   * @param head the last id the writer had announced when this thread joined: commits after it come through `announce`
   * @param openReads opens this thread's reads, which never look past the id it was last handed, and tell
   * the writer of the store failures they meet
   */
  constructor(
    private readonly writer: LogWriter,
    private head: number,
    status: WriterStatus,
    openReads: (head: () => number, onFault: (fault: LogFault) => void) => LogReads,
  ) {
    this.status = status;
    this.reads = openReads(
      () => this.head,
      (fault) => this.degrade(fault),
    );
  }

  get faults(): FaultReport {
    return this.status.faults;
  }

  /** A batch the writer committed, in commit order. */
  announce(events: readonly LoggedEvent[]): void {
    const last = events[events.length - 1];
    if (!last) return;
    this.head = last.id;
    for (const listener of this.listeners) listener(events);
  }

  /** The writer could not announce events (a shared log pruned them first): resolves once streams that lost some were told. */
  async missed(): Promise<void> {
    await Promise.all(this.missedListeners.map((listener) => listener()));
  }

  /** The writer's faults or the log's size changed. */
  update(status: WriterStatus): void {
    this.status = status;
  }

  append(drafts: readonly EventDraft[], idempotency?: Idempotency): Promise<AppendResult> {
    return this.writer.append(drafts, idempotency);
  }

  read(range: ReadRange): Promise<LoggedEvent[]> {
    return this.reads.read(range);
  }

  readFramed(range: ReadRange, idPrefix: string): Promise<FramedPage | undefined> {
    return this.reads.readFramed?.(range, idPrefix) ?? Promise.resolve(undefined);
  }

  findPublisherId(publisherId: string): Promise<number | undefined> {
    return this.reads.findPublisherId(publisherId);
  }

  lastId(): number {
    return this.head;
  }

  /** Asks the writer even for an id this thread has: its log may have more to say (a shared log out of reach). */
  caughtUp(id: number): Promise<void> {
    return this.writer.caughtUp(id);
  }

  prunedThrough(selectors: readonly Selector[]): Promise<number> {
    return this.reads.prunedThrough(selectors);
  }

  degrade(fault: LogFault): void {
    this.writer.degrade(fault);
  }

  prune(policy: PrunePolicy): Promise<number> {
    return this.writer.prune(policy);
  }

  topics(range: TopicRange): Promise<TopicSummary[]> {
    return this.reads.topics(range);
  }

  publicSummary(topic: string): Promise<TopicSummary | undefined> {
    return this.reads.publicSummary(topic);
  }

  retained(): Promise<number> {
    return this.reads.retained();
  }

  size(): LogSize {
    return this.status.size;
  }

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  onMissed(listener: MissedListener): void {
    this.missedListeners.push(listener);
  }

  async close(): Promise<void> {
    this.reads.close();
  }
}
