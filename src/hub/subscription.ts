/** One client's stream: replay from the log up to a noted head, then live, within a byte budget. */
import type { EventLog } from "../log/event-log";
import type { Selector } from "../names";
import { encodeEvents, gapNotice, heartbeat, joinChunks } from "../sse/encode";
import type { EncodedBatch, Subscriber } from "./broadcaster";

/** Events read from the log per replay step. */
const REPLAY_PAGE = 1000;

export type CloseReason = "client_closed" | "slow_consumer" | "shutdown" | "error";

/** What every subscription shares: one object for all streams, so an idle stream costs little memory. */
export interface SubscriptionHost {
  /** The opening bytes every stream starts with (`retry:` and a comment), encoded once. */
  readonly preamble: Uint8Array;
  /** Bytes held for one client (buffered past the socket, or live events held during replay) before it is cut off. */
  readonly budgetBytes: number;
  readonly log: EventLog;
  /** Registers with the broadcaster and returns the last id it handed out. */
  register(sub: Subscription): number;
  closed(sub: Subscription, reason: CloseReason): void;
  /** Counts events written to a stream, replayed or live. */
  delivered(count: number): void;
  /** Live bytes are waiting in `sub`: it is flushed together with every other stream that has some. */
  pending(sub: Subscription): void;
}

export interface StreamRequest {
  readonly selectors: readonly Selector[];
  readonly envelope: boolean;
  /** `Last-Event-ID`: replay what follows it; null to start live. */
  readonly resumeFrom: number | null;
  /** Aborts when the client goes away. */
  readonly signal: AbortSignal;
}

type State = "replaying" | "live" | "closed";

export class Subscription implements Subscriber {
  readonly selectors: readonly Selector[];
  readonly envelope: boolean;
  /**
   * A direct stream: writes go straight to the socket, and a write that finds it full returns a promise.
   * Half the memory of a queued ReadableStream per idle stream, and the bytes Bun buffers are counted here.
   */
  readonly stream: ReadableStream<Uint8Array>;
  private sink: ReadableStreamDirectController | undefined;
  private state: State;
  /** Replay covers ids in (cursor, head]; live events after head are held until replay ends. */
  private cursor: number;
  private head = 0;
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private heldEvents = 0;
  /** Bytes written since the socket last pushed back, not yet drained. */
  private backlog = 0;
  private drained: Promise<unknown> | undefined;
  /** Live bytes not yet written: flushed together, a busy hub writes several commits per write. */
  private unwritten: Uint8Array[] = [];
  /** Settles when the stream closes, for whatever reason: waits race against it so none outlives the stream. */
  readonly ended: Promise<void>;
  private finish: () => void = () => {};

  constructor(
    request: StreamRequest,
    private readonly host: SubscriptionHost,
  ) {
    this.selectors = request.selectors;
    this.envelope = request.envelope;
    this.cursor = request.resumeFrom ?? 0;
    this.state = request.resumeFrom === null ? "live" : "replaying";
    this.ended = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
    request.signal.addEventListener("abort", () => this.close("client_closed"), { once: true });
    this.stream = new ReadableStream({
      type: "direct",
      pull: (sink: ReadableStreamDirectController) => {
        // Ended before the response started (its token expired at once): a closed stream never registers.
        if (this.state === "closed") return sink.close();
        this.sink = sink;
        this.write(host.preamble);
        this.head = host.register(this);
        if (this.state === "replaying") void this.replay();
        // The response stays open until this resolves.
        return this.ended;
      },
      cancel: () => this.close("client_closed"),
    });
  }

  receive(batch: EncodedBatch, indexes: readonly number[]): void {
    if (this.state === "closed") return;
    const chunk = batch.chunk(indexes, this.envelope);
    if (this.state === "live") {
      this.enqueue(chunk);
      this.host.delivered(indexes.length);
      return;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.byteLength;
    this.heldEvents += indexes.length;
    // Half the budget: what is held still has to fit beside the replay's backlog when it is flushed.
    if (this.heldBytes > this.host.budgetBytes / 2) {
      // Everything held is in the log too: drop it and let replay run on to the newer head.
      this.held = [];
      this.heldBytes = 0;
      this.heldEvents = 0;
      this.head = batch.events[batch.events.length - 1]?.id ?? this.head;
    }
  }

  sendHeartbeat(): void {
    if (this.state !== "closed") this.enqueue(heartbeat);
  }

  /** Writes the live bytes waiting, in one write. */
  flush(): void {
    const chunks = this.unwritten;
    if (chunks.length === 0) return;
    this.unwritten = [];
    this.write(chunks.length === 1 ? (chunks[0] as Uint8Array) : joinChunks(chunks));
  }

  /** Ends the response properly (not a reset): for shutdown. */
  end(): void {
    if (this.state === "closed") return;
    this.flush();
    this.sink?.close();
    this.close("shutdown");
  }

  private enqueue(chunk: Uint8Array): void {
    if (this.unwritten.length === 0) this.host.pending(this);
    this.unwritten.push(chunk);
  }

  private write(chunk: Uint8Array): void {
    const sink = this.sink;
    if (!sink || this.state === "closed") return;
    const written = sink.write(chunk);
    sink.flush();
    if (written === 0) this.close("client_closed");
    if (typeof written === "number") return;
    // The socket is full: Bun holds what follows in memory until it drains, so count it against the budget.
    this.backlog += chunk.byteLength;
    if (this.backlog > this.host.budgetBytes) {
      this.fail("slow_consumer");
      return;
    }
    const reset = () => {
      this.backlog = 0;
      this.drained = undefined;
    };
    this.drained ??= written.then(reset, reset);
  }

  /** Replays page by page, waiting for the socket to drain between pages, then goes live. */
  private async replay(): Promise<void> {
    try {
      await this.checkGap();
      while (this.state === "replaying") {
        // The head moves on if held live events overflow meanwhile; this page covers the old one.
        const upTo = this.head;
        const page = await this.host.log.read({ selectors: this.selectors, after: this.cursor, upTo, limit: REPLAY_PAGE });
        if (this.state !== "replaying") return;
        if (page.length > 0) {
          this.write(encodeEvents(page, this.envelope));
          this.host.delivered(page.length);
        }
        this.cursor = page.length < REPLAY_PAGE ? upTo : (page[page.length - 1]?.id ?? upTo);
        if (this.cursor >= this.head) this.goLive();
        // A client that leaves mid-replay may leave a write promise that never settles.
        else await Promise.race([this.drained, this.ended]);
      }
    } catch {
      this.fail("error");
    }
  }

  private async checkGap(): Promise<void> {
    const from = this.cursor;
    if (from === 0) return;
    if (from > this.head) {
      this.write(gapNotice(from, null));
      this.cursor = this.head;
      return;
    }
    const pruned = await this.host.log.prunedThrough(this.selectors);
    if (pruned > from) this.write(gapNotice(from, pruned));
  }

  private goLive(): void {
    this.state = "live";
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const chunk of held) this.enqueue(chunk);
    this.host.delivered(this.heldEvents);
    this.heldEvents = 0;
  }

  private fail(reason: CloseReason): void {
    if (this.state === "closed") return;
    // Closing with an error drops what Bun buffered, so a reader that stopped reading frees its memory at once.
    this.sink?.close(new Error(reason));
    this.close(reason);
  }

  private close(reason: CloseReason): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.held = [];
    this.unwritten = [];
    this.finish();
    this.host.closed(this, reason);
  }
}
