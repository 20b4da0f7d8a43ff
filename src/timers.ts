/** Timers past the range setTimeout takes: a signed 32-bit delay, past which it fires at once, over and over. */

/** The longest delay given to one timer: 24 days, a whole number of days so that `--help` can say it plainly. */
export const TIMER_MAX_MS = 2_073_600_000;

/** Runs `action` at `at` (ms since the epoch), in several waits when it is further off; the function returned cancels it. */
export function onDeadline(at: number, action: () => void): () => void {
  let timer: Timer;
  const arm = () => {
    const wait = at - Date.now();
    timer = wait > TIMER_MAX_MS ? setTimeout(arm, TIMER_MAX_MS) : setTimeout(action, Math.max(0, wait));
  };
  arm();
  return () => clearTimeout(timer);
}
