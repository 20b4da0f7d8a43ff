/** Whether the SQLite store can take writes: its files are still the ones open, there is room, and a commit works. */
import type { Database } from "bun:sqlite";
import { closeSync, openSync, statfsSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { DISK_FULL, type LogFault } from "../faults";
import { sqliteFault } from "./faults";
import type { WalSync } from "./wal-sync";

/** Space a full disk must regain before publishing resumes, so that one small write that fits does not flap the state. */
const HEADROOM_BYTES = 1024 * 1024;

const READ_ONLY: LogFault = {
  reason: "log_unavailable",
  message: "the log's file system is read-only; publishing resumes by itself once it is writable again",
};

interface FileId {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

/** True when the file system holding `path` has less room than a recovered log needs. */
export function nearlyFull(path: string): boolean {
  try {
    const fs = statfsSync(dirname(path));
    return fs.bavail * fs.bsize < HEADROOM_BYTES;
  } catch {
    return false;
  }
}

function identify(path: string): FileId | undefined {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat && { path, dev: stat.dev, ino: stat.ino };
}

export class SqliteProbe {
  private readonly files: readonly FileId[];

  /** @param wal the flush of a `full` log, which a commit is not done without */
  constructor(
    private readonly db: Database,
    private readonly path: string,
    private readonly wal: WalSync | undefined,
  ) {
    // SQLite keeps its descriptors for the life of the connection: the files at these paths now are the ones it writes.
    const files = path === ":memory:" ? [] : [identify(path), identify(`${path}-wal`)];
    this.files = files.filter((f) => f !== undefined);
  }

  /**
   * A fault when the database or its WAL at the path is no longer the file SQLite writes: SQLite would go on
   * writing to the unlinked file, and acknowledged events would vanish at the next start.
   */
  moved(): LogFault | undefined {
    for (const file of this.files) {
      const now = statSync(file.path, { throwIfNoEntry: false });
      if (now?.ino === file.ino && now.dev === file.dev) continue;
      return {
        reason: "log_unavailable",
        message: `${file.path} was deleted or replaced while Herald had it open, so writes are refused: put the original file back and publishing resumes by itself, or restart Herald to use the file now at that path`,
      };
    }
    return undefined;
  }

  /** The whole check, for a degraded log: the files, the room left, then a real commit that changes nothing. */
  check(current: LogFault): LogFault | undefined {
    if (current.lasting) return current;
    const moved = this.moved();
    if (moved) return moved;
    if (current.reason === "storage_full" && nearlyFull(this.path)) return DISK_FULL;
    try {
      // Writing the header's user_version back unchanged dirties a page: the commit appends to the WAL and syncs.
      const version = this.db.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version ?? 0;
      this.db.run(`PRAGMA user_version = ${version}`);
      this.wal?.flushNow();
      return undefined;
    } catch (error) {
      return this.diagnose(error) ?? current;
    }
  }

  /** The fault a SQLite error stands for; a read-only file system or a moved file, which SQLite reports as mere I/O errors, by name. */
  diagnose(error: unknown): LogFault | undefined {
    const fault = sqliteFault(error);
    if (fault?.reason !== "log_unavailable") return fault;
    return this.moved() ?? (this.readOnly() ? READ_ONLY : fault);
  }

  /**
   * Creates and removes an empty file beside the database. Not access(2): a file system the kernel forced
   * read-only after an error (ext4's emergency_ro) still passes that check, and only a write tells.
   */
  private readOnly(): boolean {
    const probe = `${this.path}-probe`;
    try {
      closeSync(openSync(probe, "w"));
      unlinkSync(probe);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "EROFS";
    }
  }
}
