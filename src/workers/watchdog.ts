/**
 * Tells a thread that stopped answering. Publishers wait for every serving worker to take each commit, and for
 * the main thread (the log's writer) to commit: a thread whose event loop never comes back (a loop that never
 * yields, a call that never returns) would hold every publish of the hub. Each beats on the board from its event
 * loop, every BEAT_MS; the main thread looks at the workers' beats and each worker at the main thread's, as often,
 * and a count that stood still for HANG_MS of looks ends the hub (endHub).
 */
import { writeSync } from "node:fs";
import { createLogger, type LogLevel } from "../logger";
import type { Board } from "./board";

/** How often a thread beats, and looks at the others. */
const BEAT_MS = 500;
/** Silence that means a thread hangs: well past a garbage collection, or SQLite's busy timeout (5 s). */
const HANG_MS = 10_000;
/** The board's slot the main thread beats in; workers have 1 to 256. */
export const WRITER_SLOT = 0;

export interface Silence {
  /** The slot of the thread that stopped answering. */
  readonly slot: number;
  readonly silentMs: number;
}

/**
 * Beats for `slot` every BEAT_MS and, as often, looks at the slots `watched` names; on the first silence it stops
 * and calls `hung`. The timer keeps no thread alive: its listener, or the main thread's work, does.
 */
export function beatAndWatch(
  board: Board,
  slot: number,
  watched: () => Iterable<number>,
  hung: (silence: Silence) => void,
): Timer {
  const watchdog = new Watchdog(board);
  const timer = setInterval(() => {
    board.beat(slot);
    const silence = watchdog.silent(watched());
    if (!silence) return;
    clearInterval(timer);
    hung(silence);
  }, BEAT_MS);
  timer.unref();
  return timer;
}

class Watchdog {
  /** Each slot's beats as last seen, and how many looks in a row found them so. */
  private readonly heard = new Map<number, { beats: number; looks: number }>();

  constructor(private readonly board: Board) {}

  /**
   * A look, every BEAT_MS: a slot among `slots`, beating, whose beats stood still for HANG_MS, if any. Silence is
   * counted in looks, not in time: a whole process that was stopped (SIGSTOP, `docker pause`, a suspended VM) looks
   * at once when it goes on, before the other threads beat again, and none of them hangs.
   */
  silent(slots: Iterable<number>): Silence | undefined {
    for (const slot of slots) {
      const beats = this.board.beatsOf(slot);
      const last = this.heard.get(slot);
      if (beats === undefined || last?.beats !== beats) this.heard.set(slot, { beats: beats ?? -1, looks: 0 });
      else if (++last.looks * BEAT_MS >= HANG_MS) return { slot, silentMs: last.looks * BEAT_MS };
    }
    return undefined;
  }
}

/**
 * Ends the whole process at once, after saying why. No thread can end a thread stuck in a call: Bun's
 * `Worker.terminate()` and `process.exit()` both wait for it, and would hang the caller too. SIGKILL loses nothing
 * acknowledged (every commit is in the log), and the service manager starts the hub again. The line is written
 * at once, to the file: a worker's `process.stdout` may pass through the main thread, the one that may hang.
 */
export function endHub(level: LogLevel, silent: string, fields: Record<string, unknown>): void {
  const logger = createLogger(level, (line) => {
    try {
      writeSync(1, line);
    } catch {
      // Nowhere left to say it; the process ends all the same.
    }
  });
  logger.error(`${silent} has not answered for ${HANG_MS / 1000} s: ending the hub (SIGKILL) to be started again`, fields);
  process.kill(process.pid, "SIGKILL");
}
