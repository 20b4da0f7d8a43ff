/** Logs: one JSON object a line on stdout. */

export type LogLevel = "debug" | "info" | "warn" | "error";

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  enabled(level: LogLevel): boolean;
}

let stdoutErrorsHandled = false;

/**
 * Writes to stdout, and never lets a failed write take the hub down: when the reader went away (`| head`, a stopped
 * journal) writes fail with EPIPE, thrown or emitted as an `error` event that would otherwise end the process. The
 * lines are lost; the hub goes on serving, and still stops cleanly on SIGTERM.
 */
export function writeToStdout(line: string): void {
  if (!stdoutErrorsHandled) {
    stdoutErrorsHandled = true;
    process.stdout.on("error", () => {});
  }
  try {
    process.stdout.write(line);
  } catch {
    // Nowhere left to report it: stdout is where reports go.
  }
}

export function createLogger(level: LogLevel, write: (line: string) => void = writeToStdout): Logger {
  const min = rank[level];
  const emit =
    (lvl: LogLevel) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (rank[lvl] >= min) write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields })}\n`);
    };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    enabled: (lvl) => rank[lvl] >= min,
  };
}
