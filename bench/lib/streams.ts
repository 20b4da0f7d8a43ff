/** Many SSE streams over raw TCP that count events in the received bytes, without a string per event. */
import type { Socket } from "bun";
import type { Target } from "./http-client";

/** Every event starts with an `id:` line; chunk-size lines of chunked encoding also end in a line feed. */
const MARK = Buffer.from("\nid: ");
const HEADER_END = Buffer.from("\r\n\r\n");
const STAMP = '"t":';

export interface Stream {
  socket?: Socket<Stream>;
  events: number;
  /** How many bytes of MARK the previous chunk ended with, so a mark split across reads still counts. */
  partial: number;
  status: number;
  headers?: Buffer;
  closed: boolean;
  /** Unparsed text of a sampled stream, for the time stamps in its events. */
  sample?: string;
}

export interface OpenOptions {
  /** One path for every stream, or each stream's by its index in the set. */
  readonly path: string | ((k: number) => string);
  readonly headers?: Record<string, string>;
  /** How many of the streams, spread evenly and including the last, also parse each event's `"t":` stamp. */
  readonly sampled?: number;
  /** Streams connecting at once. */
  readonly concurrency?: number;
}

function countMarks(s: Stream, chunk: Uint8Array): void {
  const buf = chunk instanceof Buffer ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  let n = 0;
  if (s.partial > 0) {
    const need = MARK.byteLength - s.partial;
    const take = Math.min(need, buf.byteLength);
    const matches = buf.compare(MARK, s.partial, s.partial + take, 0, take) === 0;
    if (matches && take < need) {
      s.partial += take;
      return;
    }
    if (matches) n++;
  }
  for (let at = buf.indexOf(MARK); at >= 0; at = buf.indexOf(MARK, at + 1)) n++;
  s.events += n;
  s.partial = 0;
  for (let k = Math.min(MARK.byteLength - 1, buf.byteLength); k > 0; k--) {
    if (buf.compare(MARK, 0, k, buf.byteLength - k) === 0) {
      s.partial = k;
      break;
    }
  }
}

export class StreamSet {
  readonly streams: Stream[] = [];
  /** Publish-to-receive latencies (ms) seen on sampled streams for stamps at or after `recordFrom`. */
  readonly latenciesMs: number[] = [];
  recordFrom = Number.POSITIVE_INFINITY;

  constructor(private readonly target: Target) {}

  /** Opens `n` streams and resolves once each has its response head (so it is subscribed). */
  async open(n: number, options: OpenOptions): Promise<void> {
    const extra = Object.entries(options.headers ?? {})
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    const requestFor = (path: string) =>
      Buffer.from(
        `GET ${path} HTTP/1.1\r\nHost: ${this.target.host}:${this.target.port}\r\nAccept: text/event-stream\r\n${extra}\r\n`,
      );
    const { path } = options;
    const shared = typeof path === "string" ? requestFor(path) : undefined;
    const request = (k: number) => shared ?? requestFor(typeof path === "string" ? path : path(k));
    const concurrency = options.concurrency ?? 200;
    // Hubs write to streams in the order they opened: sampling only the first ones would flatter the latency.
    const step = n / Math.min(n, options.sampled ?? 0);
    const sampled = (k: number) => Number.isFinite(step) && Math.floor((k + 1) / step) > Math.floor(k / step);
    for (let i = 0; i < n; i += concurrency) {
      const batch = Array.from({ length: Math.min(concurrency, n - i) }, (_, j) => this.connect(request(i + j), sampled(i + j)));
      await Promise.all(batch);
    }
    const failed = this.streams.filter((s) => s.status !== 200);
    if (failed.length > 0) throw new Error(`${failed.length} of ${n} streams failed (status ${failed[0]?.status})`);
  }

  private connect(request: Buffer, sampled: boolean): Promise<void> {
    const s: Stream = { events: 0, partial: 0, status: 0, closed: false, sample: sampled ? "" : undefined };
    this.streams.push(s);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("stream did not open within 10 s")), 10_000);
      const ready = () => {
        clearTimeout(timer);
        resolve();
      };
      Bun.connect<Stream>({
        hostname: this.target.host,
        port: this.target.port,
        data: s,
        socket: {
          open: (socket) => {
            s.socket = socket;
            socket.write(request);
          },
          data: (_socket, chunk) => {
            if (s.status === 0) {
              const head = s.headers ? Buffer.concat([s.headers, chunk]) : chunk;
              const end = head.indexOf(HEADER_END);
              if (end < 0) {
                s.headers = head;
                return;
              }
              s.status = Number(head.toString("latin1", 9, 12));
              s.headers = undefined;
              ready();
              chunk = head.subarray(end + 4);
            }
            countMarks(s, chunk);
            if (s.sample !== undefined) this.stamps(s, chunk);
          },
          close: () => {
            s.closed = true;
            ready();
          },
          error: () => {
            s.closed = true;
          },
          connectError: (_socket, error) => {
            s.closed = true;
            clearTimeout(timer);
            reject(error);
          },
        },
      }).catch(reject);
    });
  }

  private stamps(s: Stream, chunk: Buffer): void {
    const now = performance.now();
    const text = (s.sample ?? "") + chunk.toString("latin1");
    let at = text.indexOf(STAMP);
    let done = 0;
    while (at >= 0) {
      const end = text.indexOf("\n", at);
      if (end < 0) break;
      const t = Number.parseFloat(text.slice(at + STAMP.length, end));
      if (t >= this.recordFrom) this.latenciesMs.push(now - t);
      done = end;
      at = text.indexOf(STAMP, end);
    }
    s.sample = text.slice(done);
  }

  total(): number {
    let n = 0;
    for (const s of this.streams) n += s.events;
    return n;
  }

  min(): number {
    let n = Number.POSITIVE_INFINITY;
    for (const s of this.streams) n = Math.min(n, s.events);
    return this.streams.length === 0 ? 0 : n;
  }

  closedCount(): number {
    return this.streams.filter((s) => s.closed).length;
  }

  /** Resolves once every stream has at least `expected` events, or when none arrived for `quietMs`. */
  waitFor(expected: number, quietMs = 3000): Promise<boolean> {
    return this.waitUntil(() => this.min() >= expected, quietMs);
  }

  /** Resolves once the streams hold `expected` events between them, or when none arrived for `quietMs`. */
  waitForTotal(expected: number, quietMs = 3000): Promise<boolean> {
    return this.waitUntil(() => this.total() >= expected, quietMs);
  }

  private async waitUntil(done: () => boolean, quietMs: number): Promise<boolean> {
    let last = this.total();
    let lastChange = performance.now();
    while (!done()) {
      await Bun.sleep(5);
      const now = performance.now();
      const total = this.total();
      if (total !== last) {
        last = total;
        lastChange = now;
      } else if (now - lastChange > quietMs) return false;
    }
    return true;
  }

  close(): void {
    for (const s of this.streams) s.socket?.end();
  }
}

/** Streams spread evenly over several nodes (a cluster), read as one set. */
export class StreamGroup {
  private constructor(private readonly sets: readonly StreamSet[]) {}

  static async open(targets: readonly Target[], n: number, options: OpenOptions): Promise<StreamGroup> {
    const sets = targets.map((t) => new StreamSet(t));
    const share = (total: number, i: number) => Math.floor(total / sets.length) + (i < total % sets.length ? 1 : 0);
    await Promise.all(sets.map((s, i) => s.open(share(n, i), { ...options, sampled: share(options.sampled ?? 0, i) })));
    return new StreamGroup(sets);
  }

  get streams(): Stream[] {
    return this.sets.flatMap((s) => s.streams);
  }

  get latenciesMs(): number[] {
    return this.sets.flatMap((s) => s.latenciesMs);
  }

  set recordFrom(t: number) {
    for (const s of this.sets) s.recordFrom = t;
  }

  closedCount(): number {
    return this.sets.reduce((n, s) => n + s.closedCount(), 0);
  }

  async waitFor(expected: number): Promise<boolean> {
    return (await Promise.all(this.sets.map((s) => s.waitFor(expected)))).every(Boolean);
  }

  close(): void {
    for (const s of this.sets) s.close();
  }
}
