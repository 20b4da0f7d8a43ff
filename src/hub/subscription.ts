/** One client's stream: replay from the log up to a noted head, then live, within a byte budget. */
import { HERALD_ID_PREFIX } from "../event-json";
import { type EventLog, isFullPage, type LoggedEvent, type ReadRange, topicsOf } from "../log/event-log";
import { type ClientEventId, type Selector, selects } from "../names";
import { encodeEvents, gapNotice, heartbeat, joinChunks, type WireForm } from "../sse/encode";
import type { EncodedBatch, Subscriber } from "./broadcaster";
import { HeldNotices, type Notice } from "./held-notices";
import { type Listener, NO_ONE, type PresenceEntry, streamId } from "./presence";

/** Events read from the log per replay step, and the data size that ends a step sooner: large events come a few at a time. */
const REPLAY_PAGE = 1000;
const REPLAY_PAGE_BYTES = 1024 * 1024;

export type CloseReason = "client_closed" | "slow_consumer" | "shutdown" | "error";

/** What every subscription shares: one object for all streams, so an idle stream costs little memory. */
export interface SubscriptionHost {
  /** The opening bytes every stream starts with (`retry:` and a comment), encoded once. */
  readonly preamble: Uint8Array;
  /** Bytes held for a client that does not read (queued behind a pending write, or live events held during replay) before it is cut off. */
  readonly budgetBytes: number;
  readonly log: EventLog;
  /** Registers with the broadcaster and returns the last id it handed out. */
  register(sub: Subscription): number;
  /** Whether the hub is stopping: a stream that starts now only tells its client when to come back. */
  stopping(): boolean;
  closed(sub: Subscription, reason: CloseReason): void;
  /** Counts events written to a stream, replayed or live. */
  delivered(count: number): void;
  /** Live bytes are waiting in `sub`: it is flushed together with every other stream that has some. */
  pending(sub: Subscription): void;
}

export interface StreamRequest {
  readonly selectors: readonly Selector[];
  readonly form: WireForm;
  /** `Last-Event-ID`: replay what follows it; null to start live. */
  readonly resumeFrom: ClientEventId | null;
  /** Aborts when the client goes away. */
  readonly signal: AbortSignal;
  /** Whether this reader may receive a private update its selectors match; without it, no private update is sent. */
  readonly readsPrivate?: (e: LoggedEvent) => boolean;
  /**
   * Where a `herald.gap` notice would go, the stream ends instead (Mercure: its client's reconnect is told of
   * the loss by a response header), and a resume from beyond the newest id just goes live. Default: false.
   */
  readonly endsOnGap?: boolean;
  /** Who reads, as presence shows it. Default: no one in particular. */
  readonly listener?: Listener;
}

const NEVER = () => false;

type State = "replaying" | "live" | "closed";

/** A page of a replay as it is sent: the events this reader gets, framed; the page's last id; whether more may follow it. */
interface ReplayPage {
  readonly bytes: Uint8Array | undefined;
  readonly sent: number;
  readonly lastId: number | undefined;
  readonly full: boolean;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A stream is also its own presence entry (presence.ts says why). */
export class Subscription implements Subscriber, PresenceEntry {
  readonly selectors: readonly Selector[];
  readonly form: WireForm;
  readonly readsPrivate: (e: LoggedEvent) => boolean;
  private readonly listener: Listener;
  /** When the stream opened, ms since the epoch. */
  readonly since = Date.now();
  private madeId: string | undefined;
  private readonly endsOnGap: boolean;
  /** Whether a selector is a pattern, which the log reads by its literal prefix only. */
  private readonly patterned: boolean;
  /**
   * A direct stream: writes go straight to the socket, and a write that finds it full returns a promise that
   * settles once the client has taken it. Half the memory of a queued ReadableStream per idle stream.
   */
  readonly stream: ReadableStream<Uint8Array>;
  private sink: ReadableStreamDirectController | undefined;
  private state: State;
  /** Replay covers ids in (cursor, head]; live events after head are held until replay ends. */
  private cursor: number;
  private head = 0;
  /** The id the client last got (at first the one it resumed from): what a gap notice names. */
  private lastSent: number;
  /** The id it resumed from as it gave it: past 2^53 `lastSent` cannot hold it exactly. */
  private readonly resumedFrom: string;
  /** The highest pruned id a gap notice announced: that notice covers every deletion up to it. */
  private announced = 0;
  /** The newest id this stream has been handed or covers: the head it registered at, then each live event. */
  private seen = 0;
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private heldEvents = 0;
  /** Made when the first notice is held: most streams never hold one, and an idle stream should cost little. */
  private notices: HeldNotices | undefined;
  /** Bytes not yet written: live events coalesced with others, or waiting behind a write the client has not taken. */
  private queue: Uint8Array[] = [];
  private queued = 0;
  /** Set while Bun still holds part of the last write; nothing else is written until it settles. */
  private pending: Promise<void> | undefined;
  /** Made when first asked for: most streams never are, and an idle stream should cost little. */
  private endedPromise: Promise<void> | undefined;
  private finish: (() => void) | undefined;
  /** End the response the pull started: cleanly, or cut (the connection aborted, what Bun buffered dropped). */
  private endResponse: (() => void) | undefined;
  private cutResponse: ((reason?: unknown) => void) | undefined;

  constructor(
    request: StreamRequest,
    private readonly host: SubscriptionHost,
  ) {
    this.selectors = request.selectors;
    this.patterned = request.selectors.some((s) => s.pattern !== undefined);
    this.form = request.form;
    this.readsPrivate = request.readsPrivate ?? NEVER;
    this.endsOnGap = request.endsOnGap ?? false;
    this.listener = request.listener ?? NO_ONE;
    this.cursor = request.resumeFrom?.value ?? 0;
    this.lastSent = this.cursor;
    this.resumedFrom = request.resumeFrom?.text ?? "0";
    this.state = request.resumeFrom === null ? "live" : "replaying";
    const source = new ResponseSource(this);
    request.signal.addEventListener("abort", source, { once: true });
    this.stream = new ReadableStream(source);
    // A client may leave while its stream waits for a slot on another thread: an aborted signal fires no more.
    if (request.signal.aborted) this.close("client_closed");
  }

  /** Bun's pull, once, as the response starts: it stays open until the promise settles. */
  respond(sink: ReadableStreamDirectController): Promise<void> | undefined {
    // Ended before the response started (its token expired at once): a closed stream never registers.
    if (this.state === "closed") {
      sink.close();
      return;
    }
    // An SSE client never retries a refusal (a 503), but reconnects after a stream that ends: to the next process.
    if (this.host.stopping()) {
      sink.write(this.host.preamble);
      sink.close();
      this.close("shutdown");
      return;
    }
    // Rejecting it without a reason aborts the connection quietly; `sink.close(error)` would too, but Bun prints
    // a stack trace on stderr for each one.
    const response = new Promise<void>((resolve, reject) => {
      this.endResponse = resolve;
      this.cutResponse = reject;
    });
    this.sink = sink;
    this.write(this.host.preamble);
    // A client gone at the first write was forgotten as it closed: registering it now would keep it forever.
    if (this.isClosed) return response;
    this.head = this.host.register(this);
    this.seen = this.head;
    if (this.state === "replaying") void this.replay();
    return response;
  }

  clientLeft(): void {
    this.close("client_closed");
  }

  /** Its presence id: made when first asked for. */
  get id(): string {
    this.madeId ??= streamId(this.since);
    return this.madeId;
  }

  get subject(): string | null {
    return this.listener.subject;
  }

  get payload(): unknown {
    return this.listener.payload;
  }

  get matchTypes(): readonly string[] | undefined {
    return this.listener.matchTypes;
  }

  get payloads(): readonly unknown[] | undefined {
    return this.listener.payloads;
  }

  get isClosed(): boolean {
    return this.state === "closed";
  }

  /** Settles when the stream closes, for whatever reason: waits race against it so none outlives the stream. */
  get ended(): Promise<void> {
    if (this.state === "closed") return Promise.resolve();
    this.endedPromise ??= new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    return this.endedPromise;
  }

  receive(batch: EncodedBatch, indexes: readonly number[]): void {
    if (this.state === "closed") return;
    this.seen = batch.events[indexes[indexes.length - 1] as number]?.id ?? this.seen;
    const chunk = batch.chunk(indexes, this.form);
    if (this.state === "live") {
      this.enqueue(chunk);
      this.host.delivered(indexes.length);
      return;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.byteLength;
    this.heldEvents += indexes.length;
    // Half the budget: what is held still has to fit beside the queue when it is flushed.
    if (this.heldBytes > this.host.budgetBytes / 2) {
      // Everything held is in the log too: drop it and let replay run on to the newer head.
      this.held = [];
      this.heldBytes = 0;
      this.heldEvents = 0;
      this.head = batch.events[batch.events.length - 1]?.id ?? this.head;
    }
  }

  /**
   * Events after the ones it was handed were pruned before they could be: if matching ones were among them
   * (`prunedThrough` past what it has seen), a gap notice, then a clean end; its client resumes from the log.
   */
  missed(prunedThrough: number): void {
    if (this.state === "closed" || prunedThrough <= this.seen) return;
    if (!this.endsOnGap) this.enqueue(gapNotice(this.seen, prunedThrough));
    this.end();
  }

  /** Sends a notice of live state: at once when live, after the current page while replaying. */
  notify(notice: Notice): void {
    if (this.state === "live") this.enqueue(notice(this.seen));
    else if (this.state === "replaying") {
      this.notices ??= new HeldNotices();
      if (!this.notices.hold(notice)) this.fail("slow_consumer");
    }
  }

  sendHeartbeat(): void {
    if (this.state !== "closed") this.enqueue(heartbeat);
  }

  /** Writes the queued bytes in one write, unless the client has yet to take the last one. */
  flush(): void {
    if (this.pending || this.queue.length === 0) return;
    const chunks = this.queue;
    this.queue = [];
    this.queued = 0;
    this.write(chunks.length === 1 ? (chunks[0] as Uint8Array) : joinChunks(chunks));
  }

  /** Ends the response properly (not a reset): for shutdown. */
  end(): void {
    if (this.state === "closed") return;
    if (this.queue.length > 0) this.write(joinChunks(this.queue));
    this.sink?.close();
    this.close("shutdown");
  }

  private enqueue(chunk: Uint8Array): void {
    if (this.queue.length === 0 && !this.pending) this.host.pending(this);
    this.queue.push(chunk);
    this.queued += chunk.byteLength;
    // Only bytes piling up behind a write the client has not taken count, and not the next write itself:
    // a client that keeps reading is never cut, however large one event or one batch is.
    const next = (this.queue[0] as Uint8Array).byteLength;
    if (this.pending && this.queued - next > this.host.budgetBytes) this.fail("slow_consumer");
  }

  private write(chunk: Uint8Array): void {
    const sink = this.sink;
    if (!sink || this.state === "closed") return;
    const written = sink.write(chunk);
    sink.flush();
    if (written === 0) this.close("client_closed");
    if (typeof written === "number") return;
    // The socket is full and Bun holds the rest of this chunk: the client has it once the promise settles.
    const drained = () => {
      this.pending = undefined;
      this.flush();
    };
    this.pending = written.then(drained, drained);
  }

  /** Replays page by page at the client's pace, then goes live. */
  private async replay(): Promise<void> {
    try {
      if (this.cursor > this.head) {
        if (!this.endsOnGap) this.write(gapNotice(this.resumedFrom, null));
        this.cursor = this.head;
      }
      while (this.state === "replaying") {
        // The head moves on if held live events overflow meanwhile; this page covers the old one.
        const range: ReadRange = {
          selectors: this.selectors,
          after: this.cursor,
          upTo: this.head,
          limit: REPLAY_PAGE,
          maxBytes: REPLAY_PAGE_BYTES,
        };
        const page = await this.nextPage(range);
        // Checked after the read: events retention deleted before or during it are missing from the page.
        const notice = await this.gapSince();
        if (this.state !== "replaying") return;
        if (notice && this.endsOnGap) return this.end();
        const chunk = notice && page.bytes ? joinChunks([notice, page.bytes]) : (notice ?? page.bytes);
        if (chunk) this.write(chunk);
        if (page.lastId !== undefined) {
          this.host.delivered(page.sent);
          this.lastSent = page.lastId;
        }
        this.cursor = page.full && page.lastId !== undefined ? page.lastId : (range.upTo as number);
        if (this.cursor >= this.head) this.goLive();
        else {
          const notices = this.notices?.take(this.cursor);
          if (notices) this.write(notices);
          await this.clientTookAll();
        }
      }
    } catch {
      // The log cannot be read now: a clean end, after whole events only, lets the client resume where it was.
      this.sink?.close();
      this.close("error");
    }
  }

  /**
   * The next page as it is sent. The log frames it where it can (no envelope, no pattern to filter by): then no
   * event is made one by one. A native event's Mercure id is Herald's URN. Otherwise it is read, filtered and
   * framed here.
   */
  private async nextPage(range: ReadRange): Promise<ReplayPage> {
    const idPrefix = this.form === "mercure" ? HERALD_ID_PREFIX : "";
    const framed = this.form !== "envelope" && !this.patterned ? await this.host.log.readFramed?.(range, idPrefix) : undefined;
    if (framed) return { bytes: framed.bytes, sent: framed.count, lastId: framed.lastId, full: framed.count >= range.limit };
    const events = await this.host.log.read(range);
    const sent = this.readable(events);
    return {
      bytes: sent.length > 0 ? encodeEvents(sent, this.form) : undefined,
      sent: sent.length,
      lastId: events[events.length - 1]?.id,
      full: isFullPage(events, range),
    };
  }

  /**
   * The page without the private updates this reader may not receive, nor, for a stream with patterns (read
   * from the log by their literal prefix), the events none of its selectors match.
   */
  private readable(page: readonly LoggedEvent[]): readonly LoggedEvent[] {
    const allowed = (e: LoggedEvent) => e.private !== true || this.readsPrivate(e);
    const wanted = this.patterned ? (e: LoggedEvent) => allowed(e) && this.selected(e) : allowed;
    for (const e of page) if (!wanted(e)) return page.filter(wanted);
    return page;
  }

  private selected(e: LoggedEvent): boolean {
    return topicsOf(e).some((topic) => this.selectors.some((s) => selects(s, topic)));
  }

  /**
   * A `herald.gap` notice when retention deleted matching events the client has not been sent: at the start
   * (naming the id it resumed from) or in the middle of a replay (naming the last id it got).
   */
  private async gapSince(): Promise<Uint8Array | undefined> {
    // From `0` the client asked for everything retained; until it got something, what is left is that.
    if (this.lastSent === 0) return undefined;
    const pruned = await this.host.log.prunedThrough(this.selectors);
    if (pruned <= Math.max(this.cursor, this.announced)) return undefined;
    this.announced = pruned;
    return gapNotice(this.lastSent, pruned);
  }

  /** Waits until the client has taken what was written, and lets other work run between pages either way. */
  private async clientTookAll(): Promise<void> {
    let pending = this.pending;
    if (!pending) return nextTurn();
    // A client that leaves mid-replay may leave a write promise that never settles.
    while (pending) {
      await Promise.race([pending, this.ended]);
      pending = this.state === "replaying" ? this.pending : undefined;
    }
  }

  private goLive(): void {
    this.state = "live";
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const chunk of held) this.enqueue(chunk);
    this.host.delivered(this.heldEvents);
    this.heldEvents = 0;
    const notices = this.notices?.take(this.seen);
    if (notices) this.enqueue(notices);
  }

  private fail(reason: CloseReason): void {
    this.close(reason, true);
  }

  private close(reason: CloseReason, cut = false): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.held = [];
    this.notices = undefined;
    this.queue = [];
    this.queued = 0;
    this.finish?.();
    if (cut) this.cutResponse?.();
    else this.endResponse?.();
    this.host.closed(this, reason);
  }
}

/**
 * What Bun pulls a stream's response from, and what hears its client go: one small object, where a closure for
 * each would keep a function apiece and the constructor's whole scope for as long as the stream is open.
 */
class ResponseSource implements EventListenerObject {
  readonly type = "direct";

  constructor(private readonly subscription: Subscription) {}

  pull(sink: ReadableStreamDirectController): Promise<void> | undefined {
    return this.subscription.respond(sink);
  }

  cancel(): void {
    this.subscription.clientLeft();
  }

  handleEvent(): void {
    this.subscription.clientLeft();
  }
}
