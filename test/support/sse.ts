/** A minimal SSE reader over fetch that keeps every field, for checking the wire format exactly. */
import type { Socket } from "bun";

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

export class SseReader {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  retry?: number;
  raw = "";
  ended = false;
  /** The response ended properly (its last chunk), not by a reset or an abort. */
  endedCleanly = false;
  private buffer = "";
  private waiters: Array<() => void> = [];
  private readonly controller = new AbortController();
  response!: Response;

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const reader = new SseReader();
    reader.response = await fetch(url, { headers, signal: reader.controller.signal });
    if (reader.response.ok) void reader.pump();
    return reader;
  }

  private async pump(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of this.response.body as ReadableStream<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true });
        this.raw += text;
        this.buffer += text;
        this.parse();
        this.wake();
      }
      this.endedCleanly = true;
    } catch {
      // aborted or reset: `ended` without `endedCleanly`
    }
    this.ended = true;
    this.wake();
  }

  private parse(): void {
    let end = this.buffer.indexOf("\n\n");
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
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length > 0) {
        e.data = data.join("\n");
        this.events.push(e);
      }
      end = this.buffer.indexOf("\n\n");
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `predicate` holds, or throws after `ms`. */
  async until(predicate: (r: SseReader) => boolean, ms = 5000): Promise<void> {
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
