/** Telling the worker threads of a hub apart (HERALD_WORKERS > 1): each answer names its worker in `Herald-Worker`. */
import { SseReader, streamUrl } from "./sse";

export const workerOf = (res: Response): number => Number(res.headers.get("herald-worker"));

/** A request on a connection of its own, so the kernel picks the worker anew. */
export function fresh(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, keepalive: false });
}

/** Publishes `data` on a fresh connection; the id and the worker that answered. */
export async function publishFresh(
  base: string,
  topic: string,
  data: string,
  headers: Record<string, string> = {},
): Promise<{ id: number; worker: number; status: number }> {
  const res = await fresh(`${base}/topics/${topic}/events`, { method: "POST", body: data, headers });
  const body = (await res.json()) as { id: string };
  return { id: Number(body.id), worker: workerOf(res), status: res.status };
}

/**
 * Sends a burst of requests on fresh connections again until one burst reached every one of `workers` workers:
 * that burst's answers, and its round (for a burst that names what it writes after its round). The kernel spreads
 * connections over the workers by a hash: 6 land on the same one of two once in 32 bursts, so a test that needs
 * both must not count on a single burst.
 */
export async function burstOnEvery<T>(
  workers: number,
  burst: (round: number) => Promise<T[]>,
  workerOfAnswer: (answer: T) => number,
): Promise<{ answers: T[]; round: number }> {
  for (let round = 0; round < 20; round++) {
    const answers = await burst(round);
    if (new Set(answers.map(workerOfAnswer)).size === workers) return { answers, round };
  }
  throw new Error(`no burst reached all ${workers} workers`);
}

/** Opens streams until at least `each` are on every one of `workers` workers; the others are closed. */
export async function streamsOnEvery(
  base: string,
  selectors: string[],
  workers: number,
  each: number,
  params: Record<string, string> = {},
): Promise<SseReader[]> {
  const kept = new Map<number, SseReader[]>();
  for (let tries = 0; tries < 200; tries++) {
    const reader = await SseReader.open(streamUrl(base, selectors, params));
    await reader.until((r) => r.retry !== undefined);
    const on = kept.get(workerOf(reader.response)) ?? [];
    if (on.length < each) {
      on.push(reader);
      kept.set(workerOf(reader.response), on);
    } else reader.close();
    if (kept.size === workers && [...kept.values()].every((l) => l.length >= each)) return [...kept.values()].flat();
  }
  throw new Error("streams did not land on every worker");
}

/** Opens streams with `open` until one lands on worker `worker`; those that land elsewhere are closed. */
export async function openOn(worker: number, open: () => Promise<SseReader>): Promise<SseReader> {
  for (let tries = 0; tries < 200; tries++) {
    const reader = await open();
    if (workerOf(reader.response) === worker) return reader;
    reader.close();
  }
  throw new Error(`no stream landed on worker ${worker}`);
}

/** GETs `url` on fresh connections until each of workers 1 to `workers` has answered: each one's answer. */
export async function fromEvery(url: string, workers: number, init: RequestInit = {}): Promise<Map<number, Response>> {
  const answers = new Map<number, Response>();
  for (let tries = 0; tries < 200 && answers.size < workers; tries++) {
    const res = await fresh(url, init);
    if (answers.has(workerOf(res))) await res.body?.cancel();
    else answers.set(workerOf(res), res);
  }
  if (answers.size < workers) throw new Error(`only workers ${[...answers.keys()]} answered`);
  return answers;
}

/**
 * A client that reconnects with the last id it got whenever its stream ends (a worker killed under it, a hop):
 * every id it receives, and the workers it was served by.
 */
export class ResumingClient {
  readonly ids: number[] = [];
  readonly workers: number[] = [];
  private current: SseReader | undefined;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly base: string,
    private readonly selectors: string[],
    from: number,
  ) {
    this.done = this.run(from);
  }

  private async run(from: number): Promise<void> {
    let last = from;
    while (!this.stopped) {
      let reader: SseReader;
      try {
        reader = await SseReader.open(streamUrl(this.base, this.selectors), { "Last-Event-ID": String(last) });
      } catch {
        await Bun.sleep(20);
        continue;
      }
      if (!reader.response.ok) {
        await Bun.sleep(20);
        continue;
      }
      this.current = reader;
      this.workers.push(workerOf(reader.response));
      if (this.stopped) reader.close();
      await reader.until((r) => r.ended, 600_000);
      this.ids.push(...reader.ids());
      last = this.ids[this.ids.length - 1] ?? last;
    }
  }

  /** Hops to another connection (and, as the kernel picks, maybe another worker), resuming where it was. */
  hop(): void {
    this.current?.close();
  }

  /** Waits until it has received `id`, then stops. */
  async stopAt(id: number, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while ((this.ids[this.ids.length - 1] ?? 0) < id && (this.current?.ids().at(-1) ?? 0) < id) {
      if (Date.now() > deadline) throw new Error(`stopped at ${this.ids.at(-1)} of ${id}`);
      await Bun.sleep(20);
    }
    this.stopped = true;
    this.current?.close();
    await this.done;
  }
}
