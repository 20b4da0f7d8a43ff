/**
 * One server's requests, so that retiring it resets no keep-alive client. Bun's `stop(false)` closes a connection
 * as soon as its request is answered, and one between two requests at once, without a word to the client: a
 * keep-alive client then sends its next request into a closing socket and reads ECONNRESET. So a retired server
 * answers every request with `Connection: close` (the client opens a new connection for the next one), and stops
 * accepting only once it has gone quiet, so that no busy client is between two requests on it when Bun closes
 * what is left.
 */
import { IDLE_TIMEOUT_S } from "./idle";

/** How long a retired server must have had no request before it stops: a busy client sends far sooner. */
export const QUIET_MS = 50;
/** Past this without a request, Bun has closed every keep-alive connection (its idle timer runs on 4 s ticks). */
const ALL_IDLE_CLOSED_MS = (IDLE_TIMEOUT_S + 4) * 1000;

export class Traffic {
  /** When the last request came; undefined while none has. */
  private lastArrival: number | undefined;
  private retiredAt: number | undefined;

  /** Answers with `respond`, telling the client to close the connection when the server has retired meanwhile. */
  answer(respond: () => Response | Promise<Response>): Response | Promise<Response> {
    this.lastArrival = performance.now();
    const response = respond();
    // Not awaited when it need not be: a publish's answer is a promise, a health probe's often not.
    return response instanceof Promise ? response.then((r) => this.closing(r)) : this.closing(response);
  }

  private closing(response: Response): Response {
    return this.retiredAt === undefined ? response : lastOnConnection(response);
  }

  /** From now on every answer of this server is its connection's last. */
  retire(): void {
    this.retiredAt ??= performance.now();
  }

  /**
   * Resolves once no request has come for QUIET_MS since the server retired, or at `deadline` (a `performance.now()`
   * time); at once when no connection can be left to tell (no request ever, or none for longer than Bun keeps one).
   */
  async quiet(deadline: number): Promise<void> {
    const retiredAt = this.retiredAt ?? performance.now();
    if (this.lastArrival === undefined || retiredAt - this.lastArrival > ALL_IDLE_CLOSED_MS) return;
    for (;;) {
      const now = performance.now();
      const wait = Math.max(this.lastArrival, retiredAt) + QUIET_MS - now;
      if (wait <= 0 || now >= deadline) return;
      await Bun.sleep(Math.min(wait, deadline - now));
    }
  }
}

/** The response with `Connection: close`. */
function lastOnConnection(response: Response): Response {
  return withHeader(response, "Connection", "close");
}

/** The response with a header set (on a copy when its headers cannot be changed). */
export function withHeader(response: Response, name: string, value: string): Response {
  try {
    response.headers.set(name, value);
    return response;
  } catch {
    const headers = new Headers(response.headers);
    headers.set(name, value);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}
