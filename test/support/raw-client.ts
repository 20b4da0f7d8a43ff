/** HTTP over a bare socket, for what fetch will not send: byte-by-byte headers, pipelining, HTTP/1.0, half-closes. */

export interface RawAnswer {
  /** Everything the hub sent, as Latin-1 text (bytes preserved). */
  readonly text: string;
  /** The hub ended or closed the connection. */
  readonly closed: boolean;
}

export interface RawOptions {
  /** Shut our side for writing after sending: a half-close. */
  readonly halfClose?: boolean;
  /** Resolve once this holds for what arrived (else when the hub closes, or at `ms`). */
  readonly until?: (text: string) => boolean;
  readonly ms?: number;
}

/** Sends `payload` on a new connection and collects the answer; our side is always closed at the end. */
export function rawRequest(port: number, payload: string | Uint8Array, options: RawOptions = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    let text = "";
    let closed = false;
    let done = false;
    let close: () => void = () => {};
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const answer = { text, closed };
      close();
      resolve(answer);
    };
    const timer = setTimeout(finish, options.ms ?? 5000);
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      allowHalfOpen: true,
      socket: {
        open(s) {
          close = () => s.end();
          s.write(payload);
          if (options.halfClose) s.shutdown();
        },
        data(_, chunk) {
          text += chunk.toString("latin1");
          if (options.until?.(text)) finish();
        },
        end() {
          closed = true;
          finish();
        },
        close() {
          closed = true;
          finish();
        },
        error() {
          closed = true;
          finish();
        },
      },
    }).catch(() => {
      closed = true;
      finish();
    });
  });
}

/** Splits a run of HTTP/1.1 answers with Content-Length bodies (pipelined answers) into status and body. */
export function splitAnswers(text: string): Array<{ status: number; headers: string; body: string }> {
  const out: Array<{ status: number; headers: string; body: string }> = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf("\r\n\r\n", at);
    if (end === -1) break;
    const headers = text.slice(at, end);
    const length = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? 0);
    // An answer counts once its whole body is here: a long one arrives in several chunks.
    if (end + 4 + length > text.length) break;
    out.push({
      status: Number(/^HTTP\/1\.[01] (\d+)/.exec(headers)?.[1] ?? 0),
      headers,
      body: text.slice(end + 4, end + 4 + length),
    });
    at = end + 4 + length;
  }
  return out;
}
