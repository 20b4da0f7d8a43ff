/**
 * A soak subscriber: random selectors, connections that end at random (or by a kill), resumed with the last id
 * seen; now and then a new run from a random earlier id. Each run's ids must equal the log's matching ids after
 * its start point: no gap, no duplicate, across every reconnect and kill.
 */

import { type Ledger, pick } from "./ledger";
import { readLog } from "./log-reader";
import { slowStream } from "./raw-stream";
import type { SoakTarget } from "./target";

const SELECTOR_SETS = [
  ["*"],
  ["soak.*"],
  ["soak.c.*"],
  ["soak.a"],
  ["soak.a", "other"],
  ["soak.c.x", "soak.c.*"],
  ["other", "soak.b"],
];

export interface Run {
  readonly selectors: readonly string[];
  readonly start: number;
  readonly ids: number[];
}

export class Subscriber {
  private run: Run;
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly hub: SoakTarget,
    private readonly ledger: Ledger,
    private readonly rnd: () => number,
    /** Reads with pauses, so the hub's per-subscriber budget is tested. */
    private readonly slow: boolean,
    /** Hands a finished run to be checked against the log. */
    private readonly finished: (run: Run) => void,
  ) {
    this.run = this.newRun();
  }

  private newRun(): Run {
    const selectors = this.slow ? ["*"] : pick(this.rnd, SELECTOR_SETS);
    return { selectors, start: Math.floor(this.rnd() * this.ledger.highestSeen), ids: [] };
  }

  async loop(running: () => boolean): Promise<void> {
    while (running()) {
      await this.connect(running);
      this.ledger.counts.reconnects++;
      await Bun.sleep(20 + this.rnd() * 200);
      if (!this.slow && this.rnd() < 0.15) {
        this.finished(this.run);
        this.run = this.newRun();
      }
    }
    this.finished(this.run);
  }

  /** One connection: until it ends, is cut by a kill, or its random lifetime is up. */
  private async connect(running: () => boolean): Promise<void> {
    const run = this.run;
    const headers = { "last-event-id": String(run.ids[run.ids.length - 1] ?? run.start) };
    const path = `/stream?${run.selectors.map((s) => `topic=${encodeURIComponent(s)}`).join("&")}`;
    if (this.slow) return this.connectSlowly(path, headers, running);
    const abort = new AbortController();
    const lifetime = setTimeout(() => abort.abort(), 300 + this.rnd() * 5000);
    try {
      const res = await fetch(`${this.hub.url}${path}`, { headers, signal: abort.signal });
      if (res.status === 503) return;
      if (res.status !== 200) return this.ledger.violate(`stream answered ${res.status}: ${await res.text()}`);
      let rest = "";
      for await (const chunk of res.body as ReadableStream<Uint8Array>) {
        rest = this.frames(rest + this.decoder.decode(chunk, { stream: true }), run);
        if (!running()) break;
      }
    } catch {
      // cut by a kill, a slow-consumer cut, or our own abort: resume from the last id
    } finally {
      clearTimeout(lifetime);
      abort.abort();
    }
  }

  /** A reader that pauses its socket after every read, and stays until cut. */
  private async connectSlowly(path: string, headers: Record<string, string>, running: () => boolean): Promise<void> {
    const run = this.run;
    let rest = "";
    // Mostly short pauses, which the kernel's buffers absorb; now and then a stall of seconds, which they do not.
    const pause = () => (this.rnd() < 0.05 ? 3000 : 100 + this.rnd() * 400);
    const stream = slowStream(this.hub.port, path, headers, pause, (text) => {
      rest = this.frames(rest + text, run);
    });
    const watch = setInterval(() => {
      if (!running()) stream.close();
    }, 200);
    const status = await stream.done;
    clearInterval(watch);
    if (status !== 200 && status !== 0 && status !== 503) this.ledger.violate(`slow stream answered ${status}`);
  }

  /** Takes the complete frames out of `text`, recording ids; returns the incomplete rest. */
  private frames(text: string, run: Run): string {
    let end = text.indexOf("\n\n");
    let from = 0;
    while (end !== -1) {
      const frame = text.slice(from, end);
      const id = /^id: (\d+)$/m.exec(frame)?.[1];
      if (/^event: herald\.gap$/m.test(frame)) this.gap(frame);
      if (id !== undefined) this.receive(Number(id), run);
      from = end + 2;
      end = text.indexOf("\n\n", from);
    }
    return text.slice(from);
  }

  /**
   * The soak prunes nothing: only ids a rollback of the store took away may be announced as a gap. A resume from
   * an id the rollback took, before any append has moved the ids on, is from beyond the log's newest id: its
   * notice names no pruned id, and the id resumed from is the one taken.
   */
  private gap(frame: string): void {
    const pruned = /"prunedThrough":"(\d+)"/.exec(frame)?.[1];
    const taken = pruned ?? /"lastEventId":"(\d+)"/.exec(frame)?.[1];
    if (!this.ledger.excused(Number(taken ?? Number.NaN))) this.ledger.violate(`gap notice with nothing pruned: ${frame}`);
  }

  private receive(id: number, run: Run): void {
    const last = run.ids[run.ids.length - 1] ?? run.start;
    if (id <= last) this.ledger.violate(`${run.selectors} from ${run.start}: id ${id} after ${last} (duplicate or out of order)`);
    run.ids.push(id);
    this.ledger.seen(id);
    this.ledger.counts.received++;
  }
}

/** A run's ids against the log: exactly the matching ids in (start, last received]. */
export async function checkRun(base: string, run: Run, ledger: Ledger): Promise<void> {
  const last = run.ids[run.ids.length - 1];
  if (last === undefined) return;
  const logged = (await readLog(base, run.selectors, run.start, last)).map((e) => e.id);
  ledger.counts.runsChecked++;
  if (logged.length === run.ids.length && logged.every((id, i) => id === run.ids[i])) return;
  const got = new Set(run.ids);
  const missing = logged.filter((id) => !got.has(id));
  const want = new Set(logged);
  const extra = run.ids.filter((id) => !want.has(id) && !ledger.excused(id));
  if (missing.length === 0 && extra.length === 0) return;
  ledger.violate(
    `${run.selectors} from ${run.start}: ${run.ids.length} ids, log has ${logged.length}; missing ${missing.slice(0, 10)}, extra ${extra.slice(0, 10)}`,
  );
}
