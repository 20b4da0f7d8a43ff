/** SSE clients for tests: one over fetch that keeps every field, one over a raw socket that can stop reading. */
import type { Socket } from "bun";

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** Parses a stream's text into events and lets a test wait on what has arrived. */
class SseEvents {
  readonly events: SseEvent[] = [];
  /** When each event was parsed (`Date.now()`), index for index with `events`: for delivery latencies. */
  readonly arrivals: number[] = [];
  readonly comments: string[] = [];
  retry?: number;
  ended = false;
  /** Keep the data of untyped events; off for streams of many large events, where only ids and notices matter. */
  protected keepData = true;
  private buffer = "";
  private scanned = 0;
  private readonly decoder = new TextDecoder();
  private waiters: Array<() => void> = [];

  protected push(bytes: Uint8Array): string {
    const text = this.decoder.decode(bytes, { stream: true });
    this.buffer += text;
    this.parse();
    this.wake();
    return text;
  }

  protected finish(): void {
    this.ended = true;
    this.wake();
  }

  private parse(): void {
    // Scan only what arrived since the last look: an event of megabytes comes in many pieces.
    let end = this.buffer.indexOf("\n\n", Math.max(0, this.scanned - 1));
    while (end !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const e: SseEvent = { data: "" };
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) this.comments.push(line.slice(1).trim());
        else if (line.startsWith("retry: ")) this.retry = Number(line.slice(7));
        else if (line.startsWith("id: ")) e.id = line.slice(4);
        else if (line.startsWith("event: ")) e.event = line.slice(7);
        else if (line.startsWith("data: ")) data.push(this.keepData || e.event !== undefined ? line.slice(6) : "");
      }
      if (data.length > 0) {
        e.data = data.join("\n");
        this.events.push(e);
        this.arrivals.push(Date.now());
      }
      end = this.buffer.indexOf("\n\n");
    }
    this.scanned = this.buffer.length;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `predicate` holds, or throws after `ms`. */
  async until(predicate: (r: this) => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate(this)) {
      if (this.ended) throw new Error(`stream ended; ${this.events.length} events`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out with ${this.events.length} events`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  count(n: number, ms?: number): Promise<void> {
    return this.until((r) => r.events.length >= n, ms);
  }

  ids(): number[] {
    return this.events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
  }
}

export class SseReader extends SseEvents {
  raw = "";
  /** The response ended properly (its last chunk), not by a reset or an abort. */
  endedCleanly = false;
  private readonly controller = new AbortController();
  response!: Response;

  /** `init` carries what else fetch needs, such as `tls: { ca }` for a hub with a test certificate. */
  static async open(url: string, headers: Record<string, string> = {}, init: BunFetchRequestInit = {}): Promise<SseReader> {
    const reader = new SseReader();
    reader.response = await fetch(url, { ...init, headers, signal: reader.controller.signal });
    if (reader.response.ok) void reader.pump();
    return reader;
  }

  private async pump(): Promise<void> {
    try {
      for await (const chunk of this.response.body as ReadableStream<Uint8Array>) this.raw += this.push(chunk);
      this.endedCleanly = true;
    } catch {
      // aborted or reset: `ended` without `endedCleanly`
    }
    this.finish();
  }

  close(): void {
    this.controller.abort();
  }
}

export function streamUrl(base: string, selectors: string[], params: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  for (const s of selectors) q.append("topic", s);
  for (const [k, v] of Object.entries(params)) q.set(k, v);
  return `${base}/stream?${q}`;
}

/** A raw TCP client for a stream: sends the GET and hands every chunk to `onData`, which may pause the socket. */
export function rawStream(
  port: number,
  path: string,
  onData: (chunk: Buffer, socket: Socket) => void,
  onClose: () => void = () => {},
): Promise<Socket> {
  return Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(s) {
        s.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      },
      data: (s, chunk) => onData(chunk, s),
      close: onClose,
      error: onClose,
    },
  });
}

/**
 * A stream client on a raw socket, with the HTTP chunked framing taken off: it can stop reading (`pause`)
 * like a stalled client, so the hub's socket fills and its writes wait.
 */
export class RawSseClient extends SseEvents {
  /** Bytes taken from the socket, framing included. */
  received = 0;
  private socket!: Socket;
  private pending: Buffer = Buffer.alloc(0);
  private inBody = false;
  private chunkLeft = 0;
  private crlfLeft = 0;

  static async open(
    port: number,
    path: string,
    options: { keepData?: boolean; pauseAfter?: number } = {},
  ): Promise<RawSseClient> {
    const client = new RawSseClient();
    client.keepData = options.keepData ?? true;
    let pauseAfter = options.pauseAfter ?? Number.POSITIVE_INFINITY;
    client.socket = await rawStream(
      port,
      path,
      (chunk, socket) => {
        client.received += chunk.byteLength;
        client.feed(chunk);
        if (client.received >= pauseAfter) {
          pauseAfter = Number.POSITIVE_INFINITY;
          socket.pause();
        }
      },
      () => client.finish(),
    );
    return client;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.end();
  }

  private feed(data: Buffer): void {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, data]) : data;
    let at = 0;
    for (;;) {
      if (!this.inBody) {
        const end = buf.indexOf("\r\n\r\n", at);
        if (end === -1) break;
        at = end + 4;
        this.inBody = true;
      } else if (this.chunkLeft > 0) {
        const take = Math.min(this.chunkLeft, buf.length - at);
        if (take === 0) break;
        this.push(buf.subarray(at, at + take));
        at += take;
        this.chunkLeft -= take;
        if (this.chunkLeft === 0) this.crlfLeft = 2;
      } else if (this.crlfLeft > 0) {
        const take = Math.min(this.crlfLeft, buf.length - at);
        if (take === 0) break;
        at += take;
        this.crlfLeft -= take;
      } else {
        const eol = buf.indexOf("\r\n", at);
        if (eol === -1) break;
        this.chunkLeft = Number.parseInt(buf.toString("latin1", at, eol), 16);
        at = eol + 2;
        if (this.chunkLeft === 0) break;
      }
    }
    this.pending = buf.subarray(at);
  }
}
