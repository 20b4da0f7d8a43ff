/**
 * Requests and notes between two threads over a message port, typed by what each side sends. Errors travel as
 * values (a HeraldError's code, message and headers) and are thrown again on the other side; anything else
 * arrives as a plain Error, a bug to be logged as it would be on one thread. What comes before this side says
 * how to take it (a thread still starting) waits until it does, in order. What one turn of the event loop sends
 * leaves as one message at the next: waking a thread costs more than the message (a commit and the answer to
 * its publisher travel together).
 */
import { type ErrorCode, HeraldError } from "../errors";

/** A thread's end of the line: a `Worker` of node:worker_threads, or a worker's `parentPort`. */
export interface Port {
  postMessage(message: unknown): void;
  on(event: "message", listener: (message: unknown) => void): unknown;
}

/** Requests a side sends, each with the body it takes and the reply it gets; notes it sends, with their bodies. */
export interface Side {
  readonly requests: Record<string, { readonly body: unknown; readonly reply: unknown }>;
  readonly notes: Record<string, unknown>;
}

// Flat objects of primitives and strings take Bun's fast path past the structured clone: a note's body is best a string.
type Message =
  | { readonly t: "req"; readonly rid: number; readonly kind: string; readonly body: unknown }
  | { readonly t: "res"; readonly rid: number; readonly body: unknown }
  | { readonly t: "err"; readonly rid: number; readonly code: string; readonly message: string; readonly headers: string }
  | { readonly t: "note"; readonly kind: string; readonly body: unknown }
  | { readonly t: "many"; readonly messages: readonly Message[] };

interface Pending {
  readonly resolve: (reply: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Handler = (body: never) => unknown;

export class Channel<Out extends Side, In extends Side> {
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<string, Handler>();
  private readonly listeners = new Map<string, (body: never) => void>();
  /** Messages of a kind no handler or listener takes yet. */
  private readonly held = new Map<string, Message[]>();
  private nextId = 1;
  private closedBy: Error | undefined;
  private outbox: Message[] = [];

  constructor(private readonly port: Port) {
    port.on("message", (message) => this.receive(message as Message));
  }

  request<K extends keyof Out["requests"] & string>(
    kind: K,
    body: Out["requests"][K]["body"],
  ): Promise<Out["requests"][K]["reply"]> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    const rid = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(rid, { resolve, reject });
      this.send({ t: "req", rid, kind, body });
    });
  }

  notify<K extends keyof Out["notes"] & string>(kind: K, body: Out["notes"][K]): void {
    this.send({ t: "note", kind, body });
  }

  /** Answers the other side's requests of `kind` with what `handler` returns or throws. */
  handle<K extends keyof In["requests"] & string>(
    kind: K,
    handler: (body: In["requests"][K]["body"]) => In["requests"][K]["reply"] | Promise<In["requests"][K]["reply"]>,
  ): void {
    this.handlers.set(kind, handler as Handler);
    this.release(kind);
  }

  on<K extends keyof In["notes"] & string>(kind: K, listener: (body: In["notes"][K]) => void): void {
    this.listeners.set(kind, listener as (body: never) => void);
    this.release(kind);
  }

  /** The other side is gone: requests waiting for it fail with `error`, and nothing more is sent. */
  close(error: Error): void {
    this.closedBy = error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  private send(message: Message): void {
    if (this.closedBy) return;
    if (this.outbox.push(message) === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const messages = this.outbox;
    this.outbox = [];
    if (this.closedBy || messages.length === 0) return;
    this.port.postMessage(messages.length === 1 ? messages[0] : { t: "many", messages });
  }

  private receive(message: Message): void {
    switch (message.t) {
      case "many":
        for (const m of message.messages) this.receive(m);
        return;
      case "note":
      case "req": {
        const taken = message.t === "note" ? this.listeners.has(message.kind) : this.handlers.has(message.kind);
        if (!taken) this.hold(message.kind, message);
        else if (message.t === "note") this.listeners.get(message.kind)?.(message.body as never);
        else void this.answer(message.rid, message.kind, message.body);
        return;
      }
      case "res":
        this.settle(message.rid)?.resolve(message.body);
        return;
      case "err":
        this.settle(message.rid)?.reject(revive(message));
    }
  }

  private hold(kind: string, message: Message): void {
    const held = this.held.get(kind) ?? [];
    held.push(message);
    this.held.set(kind, held);
  }

  private release(kind: string): void {
    const held = this.held.get(kind);
    this.held.delete(kind);
    for (const message of held ?? []) this.receive(message);
  }

  private settle(rid: number): Pending | undefined {
    const p = this.pending.get(rid);
    this.pending.delete(rid);
    return p;
  }

  private async answer(rid: number, kind: string, body: unknown): Promise<void> {
    try {
      const reply = await (this.handlers.get(kind) as Handler)(body as never);
      this.send({ t: "res", rid, body: reply });
    } catch (error) {
      this.send({ t: "err", rid, ...flatten(error) });
    }
  }
}

function flatten(error: unknown): { code: string; message: string; headers: string } {
  if (error instanceof HeraldError) return { code: error.code, message: error.message, headers: JSON.stringify(error.headers) };
  return { code: "", message: error instanceof Error ? error.message : String(error), headers: "{}" };
}

function revive({ code, message, headers }: { code: string; message: string; headers: string }): Error {
  if (code === "") return new Error(message);
  return new HeraldError(code as ErrorCode, message, JSON.parse(headers) as Record<string, string>);
}
