/**
 * The sync of a `full` log, off the serving thread. SQLite runs with `synchronous = NORMAL`, so a commit only
 * writes its frames to the WAL; this flushes the WAL file on a pool thread, and the commit is acknowledged once
 * that flush returns. It is the sync `synchronous = FULL` would do inside COMMIT, done while the thread serves on.
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from "node:fs";

export class WalSync {
  private readonly fd: number;

  /** Throws when the WAL file is not there: SQLite creates it with the first read of a WAL database. */
  constructor(walPath: string) {
    // fdatasync(2) flushes the file, whichever descriptor names it: SQLite's own is not reachable.
    this.fd = openSync(walPath, "r");
  }

  /** Everything written to the WAL before the call is on the disk when the promise resolves. */
  flush(): Promise<void> {
    return new Promise((resolve, reject) => fdatasync(this.fd, (error) => (error ? reject(error) : resolve())));
  }

  flushNow(): void {
    fdatasyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}
