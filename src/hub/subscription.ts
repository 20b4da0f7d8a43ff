/** One client's stream: replay from the log up to a noted head, then live, within a byte budget. */
import type { EventLog } from "../log/event-log";
import type { Selector } from "../names";
import { encodeEvents, gapNotice, heartbeat, joinChunks, preamble } from "../sse/encode";
import type { EncodedBatch, Subscriber } from "./broadcaster";

/** Events read from the log per replay step. */
const REPLAY_PAGE = 1000;
/** Bytes queued ahead of the socket before replay waits for the client to read. */
const REPLAY_AHEAD_BYTES = 256 * 1024;

export type CloseReason = "client_closed" | "slow_consumer" | "shutdown" | "error";

export interface SubscriptionOptions {
  readonly selectors: readonly Selector[];
  readonly envelope: boolean;
  /** `Last-Event-ID`: replay what follows it; null to start live. */
  readonly resumeFrom: number | null;
  readonly retryMs: number;
  /** Bytes held for this client (queued plus buffered live events) before it is cut off. */
  readonly budgetBytes: number;
  readonly log: EventLog;
  /** Registers with the broadcaster and returns the last id it handed out. */
  readonly register: (sub: Subscription) => number;
  readonly onClose: (sub: Subscription, reason: CloseReason) => void;
  /** Counts events written to this stream, replayed or live. */
  readonly onDelivered: (count: number) => void;
}

type State = "replaying" | "live" | "closed";

export class Subscription implements Subscriber {
  readonly selectors: readonly Selector[];
  readonly envelope: boolean;
  readonly stream: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private state: State;
  /** Replay covers ids in (cursor, head]; live events after head are held until replay ends. */
  private cursor: number;
  private head = 0;
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private heldEvents = 0;
  private gapChecked = false;

  constructor(private readonly options: SubscriptionOptions) {
    this.selectors = options.selectors;
    this.envelope = options.envelope;
    this.cursor = options.resumeFrom ?? 0;
    this.state = options.resumeFrom === null ? "live" : "replaying";
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
          controller.enqueue(preamble(options.retryMs));
          this.head = options.register(this);
        },
        pull: () => (this.state === "replaying" ? this.replayStep() : undefined),
        cancel: () => this.close("client_closed"),
      },
      { highWaterMark: REPLAY_AHEAD_BYTES, size: (chunk) => chunk?.byteLength ?? 0 },
    );
  }

  receive(batch: EncodedBatch, indexes: readonly number[]): void {
    if (this.state === "closed") return;
    const chunk = batch.chunk(indexes, this.envelope);
    if (this.state === "live") {
      this.write(chunk);
      this.options.onDelivered(indexes.length);
      return;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.byteLength;
    this.heldEvents += indexes.length;
    // Half the budget: what is held still has to fit beside what replay has queued when it is flushed.
    if (this.heldBytes > this.options.budgetBytes / 2) {
      // Everything held is in the log too: drop it and let replay run on to the newer head.
      this.held = [];
      this.heldBytes = 0;
      this.heldEvents = 0;
      this.head = batch.events[batch.events.length - 1]?.id ?? this.head;
    }
  }

  sendHeartbeat(): void {
    if (this.state !== "closed") this.write(heartbeat);
  }

  /** Ends the response properly (not a reset): for shutdown. */
  end(): void {
    if (this.state === "closed") return;
    this.controller.close();
    this.close("shutdown");
  }

  private write(chunk: Uint8Array): void {
    this.controller.enqueue(chunk);
    const queued = REPLAY_AHEAD_BYTES - (this.controller.desiredSize ?? 0);
    if (queued > this.options.budgetBytes) this.fail("slow_consumer");
  }

  private async replayStep(): Promise<void> {
    try {
      if (!this.gapChecked) await this.checkGap();
      if (this.state !== "replaying") return;
      // The head moves on if held live events overflow meanwhile; this page covers the old one.
      const upTo = this.head;
      const page = await this.options.log.read({ selectors: this.selectors, after: this.cursor, upTo, limit: REPLAY_PAGE });
      if (this.state !== "replaying") return;
      const last = page[page.length - 1];
      if (last) {
        this.cursor = last.id;
        this.controller.enqueue(encodeEvents(page, this.envelope));
        this.options.onDelivered(page.length);
      }
      if (page.length < REPLAY_PAGE) this.cursor = upTo;
      if (this.cursor >= this.head) this.goLive();
    } catch {
      this.fail("error");
    }
  }

  private async checkGap(): Promise<void> {
    this.gapChecked = true;
    const from = this.cursor;
    if (from === 0) return;
    if (from > this.head) {
      this.controller.enqueue(gapNotice(from, null));
      this.cursor = this.head;
      return;
    }
    const pruned = await this.options.log.prunedThrough(this.selectors);
    if (pruned > from) this.controller.enqueue(gapNotice(from, pruned));
  }

  private goLive(): void {
    this.state = "live";
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    if (held.length > 0) this.write(held.length === 1 ? (held[0] as Uint8Array) : joinChunks(held));
    this.options.onDelivered(this.heldEvents);
    this.heldEvents = 0;
  }

  private fail(reason: CloseReason): void {
    if (this.state === "closed") return;
    // error() discards what is queued, so a reader that stopped reading frees its memory at once.
    this.controller.error(new Error(reason));
    this.close(reason);
  }

  private close(reason: CloseReason): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.held = [];
    this.options.onClose(this, reason);
  }
}
