/** Storage faults: which store failures mean "disk full" or "log unavailable", for every log implementation. */
import { HeraldError } from "../errors";

export type FaultReason = "storage_full" | "log_unavailable";

/** What is wrong with the log's store: a stable reason for machines and a message for people. */
export interface LogFault {
  readonly reason: FaultReason;
  readonly message: string;
  /** Does not clear by itself (a corrupt file): only a repair and a restart end it. */
  readonly lasting?: boolean;
}

/** Seconds a publisher is asked to wait: faults last minutes, and the probe looks every second meanwhile. */
const RETRY_AFTER_SECONDS = "5";

export function faultError(fault: LogFault): HeraldError {
  return new HeraldError(fault.reason, fault.message, { "Retry-After": RETRY_AFTER_SECONDS });
}

/** True for the errors a log fault answers with (they need no further mapping or logging). */
export function isFaultError(error: unknown): error is HeraldError {
  return error instanceof HeraldError && (error.code === "storage_full" || error.code === "log_unavailable");
}

export const DISK_FULL: LogFault = {
  reason: "storage_full",
  message: "the log's disk is full; publishing resumes by itself once space is freed",
};

/**
 * SQLite result codes that say the store failed, not the request. bun:sqlite puts the extended code in `code`
 * (`SQLITE_IOERR_WRITE`, `SQLITE_READONLY_DBMOVED`), so families match by prefix. BUSY and LOCKED mean another
 * process held the file past the busy timeout: the store is unavailable to us all the same.
 */
const UNAVAILABLE = /^SQLITE_(IOERR|READONLY|CANTOPEN|BUSY|LOCKED|PROTOCOL|NOLFS|PERM|AUTH)/;
const CORRUPT = /^SQLITE_(CORRUPT|NOTADB)/;

/** The fault a SQLite error stands for, or undefined when it says nothing about the store (a bug is a 500). */
export function sqliteFault(error: unknown): LogFault | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  if (code === "SQLITE_FULL") return DISK_FULL;
  if (CORRUPT.test(code)) {
    return {
      reason: "log_unavailable",
      message: `the database file is corrupt (${code}); writes are refused until it is repaired: stop Herald, recover the file with sqlite3's .recover or restore a backup, and start again`,
      lasting: true,
    };
  }
  if (!UNAVAILABLE.test(code)) return undefined;
  return { reason: "log_unavailable", message: `the log cannot be used: ${(error as Error).message} (${code})` };
}
