/**
 * A stream read over a raw socket that the reader pauses: fetch's client may read ahead into its own memory,
 * so only a paused socket makes the hub's side fill up, which is what a slow reader is for.
 */
import type { Socket } from "bun";

/** Undoes chunked transfer coding, incrementally: `push` raw bytes, get the body text that completed. */
export class Dechunker {
  private buffer = Buffer.alloc(0);
  private headersDone = false;
  status = 0;
  ended = false;

  push(bytes: Uint8Array): string {
    this.buffer = Buffer.concat([this.buffer, bytes]);
    let out = "";
    if (!this.headersDone) {
      const end = this.buffer.indexOf("\r\n\r\n");
      if (end === -1) return "";
      this.status = Number(/^HTTP\/1\.1 (\d+)/.exec(this.buffer.subarray(0, end).toString("latin1"))?.[1] ?? 0);
      this.buffer = this.buffer.subarray(end + 4);
      this.headersDone = true;
    }
    for (;;) {
      const line = this.buffer.indexOf("\r\n");
      if (line === -1) return out;
      const size = Number.parseInt(this.buffer.subarray(0, line).toString("latin1"), 16);
      if (size === 0) {
        this.ended = true;
        return out;
      }
      if (this.buffer.length < line + 2 + size + 2) return out;
      out += this.buffer.subarray(line + 2, line + 2 + size).toString("utf8");
      this.buffer = this.buffer.subarray(line + 2 + size + 2);
    }
  }
}

/** Opens `path` and hands over body text as it comes, pausing the socket `pauseMs()` after each read. */
export function slowStream(
  port: number,
  path: string,
  headers: Record<string, string>,
  pauseMs: () => number,
  onText: (text: string) => void,
): { done: Promise<number>; close: () => void } {
  const dechunker = new Dechunker();
  let socket: Socket | undefined;
  let finish: (status: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(s) {
        socket = s;
        s.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`);
      },
      data(s, chunk) {
        onText(dechunker.push(chunk));
        s.pause();
        setTimeout(() => s.resume(), pauseMs());
      },
      close: () => finish(dechunker.status),
      error: () => finish(dechunker.status),
    },
  }).catch(() => finish(0));
  return { done, close: () => socket?.end() };
}
