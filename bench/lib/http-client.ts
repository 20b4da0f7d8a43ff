/** A keep-alive HTTP/1.1 publisher over raw TCP: many requests a second on little CPU, each one timed. */
import type { Socket } from "bun";

export interface Target {
  readonly host: string;
  readonly port: number;
}

/** Builds one request; `intendedAt` (performance.now() ms) is when it was due, for data that carries it. */
export type RequestFactory = (intendedAt: number) => Uint8Array;

export interface PublishResult {
  readonly sent: number;
  readonly acked: number;
  readonly errors: number;
  /** Open-loop requests due during the run and never sent: the hub had not caught up 10 s after it. */
  readonly unsent: number;
  readonly durationMs: number;
  /** Request latency in ms, from when each request was due (so client-side queueing counts too). */
  readonly latenciesMs: number[];
}

const HEADER_END = Buffer.from("\r\n\r\n");
const LENGTH_HEADERS = [Buffer.from("Content-Length: "), Buffer.from("content-length: ")];

/** Bytes of a POST with a body, ready to write. */
export function postRequest(target: Target, path: string, body: string, contentType = "application/json"): Uint8Array {
  const bytes = Buffer.from(body);
  const head = `POST ${path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nContent-Type: ${contentType}\r\nContent-Length: ${bytes.byteLength}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), bytes]);
}

/** The end of the first complete response in `buf` and its status, or undefined while it is incomplete. */
function parseResponse(buf: Buffer): { end: number; status: number } | undefined {
  const headerEnd = buf.indexOf(HEADER_END);
  if (headerEnd < 0) return undefined;
  let length = 0;
  for (const name of LENGTH_HEADERS) {
    const at = buf.indexOf(name);
    if (at < 0 || at > headerEnd) continue;
    for (let i = at + name.byteLength; buf[i] !== undefined && buf[i] !== 0x0d; i++)
      length = length * 10 + (buf[i] as number) - 48;
    break;
  }
  const end = headerEnd + 4 + length;
  if (buf.byteLength < end) return undefined;
  return { end, status: ((buf[9] as number) - 48) * 100 + ((buf[10] as number) - 48) * 10 + ((buf[11] as number) - 48) };
}

interface Conn {
  socket?: Socket<Conn>;
  pending?: Buffer;
  /** When the in-flight request was due, or -1 when idle. */
  due: number;
}

export interface PublishOptions {
  readonly connections: number;
  /** How long to send; requests in flight at the end are still awaited. */
  readonly durationMs: number;
  /** 0: each socket sends again as soon as it is answered; otherwise a fixed rate, open loop. */
  readonly ratePerSec?: number;
  /** Stop after this many requests (closed loop only). */
  readonly maxRequests?: number;
}

/**
 * Publishes over keep-alive sockets, one request in flight on each: as fast as answers come back, or
 * open-loop at a fixed rate, where a request waits for a free socket but keeps its due time.
 */
export async function publish(target: Target, options: PublishOptions, makeRequest: RequestFactory): Promise<PublishResult> {
  const { connections, durationMs, ratePerSec = 0, maxRequests = Number.POSITIVE_INFINITY } = options;
  const latenciesMs: number[] = [];
  let sent = 0;
  let acked = 0;
  let errors = 0;
  let start = 0;
  let stopAt = 0;
  let stopped = false;
  /** Due times of open-loop requests waiting for a free socket; `backlogHead` avoids shift()'s copying. */
  const backlog: number[] = [];
  let backlogHead = 0;
  const idle: Conn[] = [];
  let inFlight = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const send = (conn: Conn, due: number) => {
    conn.due = due;
    sent++;
    inFlight++;
    conn.socket?.write(makeRequest(due));
  };
  const next = (conn: Conn) => {
    // A request that fell due during the run is sent even after it, keeping its due time: dropped, it would fail
    // a run for a stall in its last milliseconds and not for the same stall a second earlier.
    if (backlogHead < backlog.length) {
      send(conn, backlog[backlogHead++] as number);
      return;
    }
    const now = performance.now();
    if (stopped || now >= stopAt || sent >= maxRequests) {
      stopped = true;
      if (inFlight === 0) finish();
      return;
    }
    if (ratePerSec === 0) send(conn, now);
    else idle.push(conn);
  };

  const conns = await Promise.all(
    Array.from({ length: connections }, async () => {
      const conn: Conn = { due: -1 };
      conn.socket = await Bun.connect<Conn>({
        hostname: target.host,
        port: target.port,
        data: conn,
        socket: {
          open(socket) {
            socket.setNoDelay(true);
          },
          data(_socket, chunk) {
            let buf = conn.pending ? Buffer.concat([conn.pending, chunk]) : chunk;
            for (let r = parseResponse(buf); r !== undefined; r = parseResponse(buf)) {
              inFlight--;
              if (r.status >= 200 && r.status < 300) acked++;
              else errors++;
              latenciesMs.push(performance.now() - conn.due);
              conn.due = -1;
              buf = buf.subarray(r.end);
              next(conn);
            }
            conn.pending = buf.byteLength > 0 ? buf : undefined;
          },
          close() {
            if (conn.due >= 0) {
              inFlight--;
              errors++;
              conn.due = -1;
            }
            if (inFlight === 0 && stopped) finish();
          },
          error() {},
        },
      });
      return conn;
    }),
  );

  start = performance.now();
  stopAt = start + durationMs;
  let ticker: Timer | undefined;
  if (ratePerSec === 0) {
    for (const c of conns.slice(0, Math.min(conns.length, maxRequests))) send(c, start);
  } else {
    idle.push(...conns);
    let scheduled = 0;
    ticker = setInterval(() => {
      const now = performance.now();
      const due = Math.floor(((Math.min(now, stopAt) - start) * ratePerSec) / 1000);
      for (; scheduled < due; scheduled++) {
        const at = start + (scheduled * 1000) / ratePerSec;
        const conn = idle.pop();
        if (conn) send(conn, at);
        else backlog.push(at);
      }
      if (now >= stopAt) {
        clearInterval(ticker);
        stopped = true;
        if (inFlight === 0) finish();
      }
    }, 1);
  }
  // A hub that stops answering must not hang the bench: give it 10 s past the end.
  const timeout = setTimeout(finish, durationMs + 10_000);
  await finished;
  clearTimeout(timeout);
  clearInterval(ticker);
  const elapsed = performance.now() - start;
  for (const c of conns) c.socket?.end();
  return { sent, acked, errors, unsent: backlog.length - backlogHead, durationMs: elapsed, latenciesMs };
}
