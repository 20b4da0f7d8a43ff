/** Which SQLite errors say that the store failed (disk full, log unavailable), rather than the request. */
import { DISK_FULL, type LogFault } from "../faults";

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

/**
 * A flush of the WAL that failed. What reached the disk is unknown (Linux may drop the pages it could not write
 * and report the next flush clean), so writes stay refused until a restart reads the log from the disk again.
 */
export function flushFault(error: unknown): LogFault {
  const code = (error as { code?: unknown } | null)?.code;
  return {
    reason: "log_unavailable",
    message: `the disk did not confirm a write of the log (${typeof code === "string" ? code : "unknown error"}); writes are refused until Herald restarts`,
    lasting: true,
  };
}
