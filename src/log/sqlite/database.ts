/** The SQLite file of the embedded log, opened in WAL mode with the durability asked for. */
import { Database } from "bun:sqlite";
import { checkOwnership } from "./migrations";

/** `full`: an acknowledged event survives power loss; `normal`: it survives a process crash. */
export type SyncMode = "full" | "normal";

/** Opens the file with the settings every connection to the log needs; refuses a file that is not Herald's. */
export function openDatabase(path: string, sync: SyncMode): Database {
  const db = new Database(path, { create: true, strict: true });
  db.run("PRAGMA busy_timeout = 5000");
  // Before any pragma below writes to it: a file that is not ours stays untouched.
  checkOwnership(db);
  // Only takes effect on a new file: freed pages then go back to the OS as retention prunes.
  db.run("PRAGMA auto_vacuum = INCREMENTAL");
  db.run("PRAGMA journal_mode = WAL");
  db.run(`PRAGMA synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
  // The WAL is reused after each checkpoint; this bounds what it keeps on disk meanwhile.
  db.run("PRAGMA journal_size_limit = 67108864");
  return db;
}

/** A connection that only reads, beside the writer's (a worker thread's): the file is set up and migrated already. */
export function openReadConnection(path: string): Database {
  const db = new Database(path, { readonly: true, strict: true });
  db.run("PRAGMA busy_timeout = 5000");
  return db;
}
