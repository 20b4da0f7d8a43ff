/** A raw HTTP/1.1 exchange over TCP that can leave a request body unfinished, to see what a server answers meanwhile. */

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Sends `head` and the bytes `bodyParts` yields (waiting for the socket to drain between them), never ends the
 * body, and resolves with the server's response as soon as it is complete. Rejects when the server closes the
 * connection without a complete response, or when none comes within `ms` (the server waits for the rest of the body).
 */
export function answerBeforeBodyEnds(
  port: number,
  head: string,
  bodyParts: Iterable<Uint8Array> = [],
  ms = 4000,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let received = "";
    let settled = false;
    const finish = (error: Error | null, response?: RawResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.then((s) => s.end()).catch(() => {});
      if (error) reject(error);
      else resolve(response as RawResponse);
    };
    const timer = setTimeout(() => finish(new Error(`no response within ${ms} ms: ${received.slice(0, 200)}`)), ms);
    const parts = bodyParts[Symbol.iterator]();
    let pending: Uint8Array | null = new TextEncoder().encode(head);
    const pump = (s: Bun.Socket) => {
      while (pending !== null && !settled) {
        const written = s.write(pending);
        if (written < 0) return;
        if (written < pending.byteLength) {
          pending = pending.subarray(written);
          return;
        }
        const next = parts.next();
        pending = next.done ? null : next.value;
      }
    };
    const socket = Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: pump,
        drain: pump,
        data(_s, chunk) {
          received += chunk.toString("latin1");
          const response = parse(received);
          if (response) finish(null, response);
        },
        close: () => finish(new Error(`connection closed with ${JSON.stringify(received.slice(0, 200))}`)),
        error: (_s, error) => finish(error),
      },
    });
    socket.catch((error: Error) => finish(error));
  });
}

/** A complete response with a Content-Length body, or null while more is to come. */
function parse(text: string): RawResponse | null {
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return null;
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers["content-length"] ?? 0);
  const body = Buffer.from(text.slice(end + 4), "latin1");
  if (body.byteLength < length) return null;
  return { status: Number(statusLine.split(" ")[1]), headers, body: body.subarray(0, length).toString("utf8") };
}

/** `count` chunks of `size` bytes each, in chunked transfer coding (the body is not terminated). */
export function* chunked(count: number, size: number): Generator<Uint8Array> {
  const data = new Uint8Array(size).fill(0x61);
  const header = new TextEncoder().encode(`${size.toString(16)}\r\n`);
  const trailer = new TextEncoder().encode("\r\n");
  for (let i = 0; i < count; i++) {
    yield header;
    yield data;
    yield trailer;
  }
}
