/**
 * Tells a worker that stopped answering. Publishers wait for every serving worker to take each commit, so a
 * worker whose event loop never comes back (a loop that never yields, a call that never returns) would hold every
 * publish of the hub. Each serving worker beats on the board from its event loop; the main thread looks at the
 * beats every BEAT_MS and names a worker whose count stood still for HANG_MS of its looks.
 */
import type { Board } from "./board";

/** How often a serving worker beats, and the main thread looks. */
export const BEAT_MS = 500;
/** Silence that means a worker hangs: well past a garbage collection, or SQLite's busy timeout (5 s). */
export const HANG_MS = 10_000;

export interface Silence {
  readonly worker: number;
  readonly silentMs: number;
}

export class Watchdog {
  /** Each worker's beats as last seen, and how many looks in a row found them so. */
  private readonly heard = new Map<number, { beats: number; looks: number }>();

  constructor(private readonly board: Board) {}

  /**
   * A look, every BEAT_MS: a serving worker among `workers` whose beats stood still for HANG_MS, if any. Silence
   * is counted in looks, not in time: a whole process that was stopped (SIGSTOP, `docker pause`, a suspended VM)
   * looks at once when it goes on, before its workers beat again, and none of them hangs.
   */
  silent(workers: Iterable<number>): Silence | undefined {
    for (const worker of workers) {
      const beats = this.board.beatsOf(worker);
      const last = this.heard.get(worker);
      if (beats === undefined || last?.beats !== beats) this.heard.set(worker, { beats: beats ?? -1, looks: 0 });
      else if (++last.looks * BEAT_MS >= HANG_MS) return { worker, silentMs: last.looks * BEAT_MS };
    }
    return undefined;
  }
}
