/**
 * Signals taken from the first moment of the process. Bun's default for SIGHUP ends the process, and `systemctl
 * reload` (or a certificate renewal hook) may send one while the hub is still starting; a signal that comes before
 * the hub has said what it does is held, and handled as soon as it has.
 */

const handlers = new Map<NodeJS.Signals, () => void>();
const held = new Set<NodeJS.Signals>();

/** Installs the process's own handlers for `signals` at once; what they do comes later, from `onSignal`. */
export function holdSignals(signals: readonly NodeJS.Signals[]): void {
  for (const signal of signals) {
    process.on(signal, () => {
      const handler = handlers.get(signal);
      if (handler) handler();
      else held.add(signal);
    });
  }
}

/** What `signal` does from now on; one that came while none was set is handled now (several count as one). */
export function onSignal(signal: NodeJS.Signals, handler: () => void): void {
  handlers.set(signal, handler);
  if (held.delete(signal)) handler();
}
