/** Applies the numbered SQL files of `migrations/` in order, once each, recording them. */
import type { Database } from "bun:sqlite";
// Imported as text so `bun build --compile` embeds them in the binary.
import events from "../../../migrations/0001_events.sql" with { type: "text" };
import idempotency from "../../../migrations/0002_idempotency.sql" with { type: "text" };
import topicCounts from "../../../migrations/0003_topic_counts_per_commit.sql" with { type: "text" };
import retainedTopics from "../../../migrations/0004_retained_topics_index.sql" with { type: "text" };
import mercureUpdates from "../../../migrations/0005_mercure_updates.sql" with { type: "text" };
import readBounds from "../../../migrations/0006_topic_read_bounds.sql" with { type: "text" };
import retainedFlag from "../../../migrations/0007_retained_flag.sql" with { type: "text" };
import privateCounts from "../../../migrations/0008_private_counts.sql" with { type: "text" };
import noReplace from "../../../migrations/0009_no_replace.sql" with { type: "text" };
import { HeraldError } from "../../errors";

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  { version: 1, name: "0001_events.sql", sql: events },
  { version: 2, name: "0002_idempotency.sql", sql: idempotency },
  { version: 3, name: "0003_topic_counts_per_commit.sql", sql: topicCounts },
  { version: 4, name: "0004_retained_topics_index.sql", sql: retainedTopics },
  { version: 5, name: "0005_mercure_updates.sql", sql: mercureUpdates },
  { version: 6, name: "0006_topic_read_bounds.sql", sql: readBounds },
  { version: 7, name: "0007_retained_flag.sql", sql: retainedFlag },
  { version: 8, name: "0008_private_counts.sql", sql: privateCounts },
  { version: 9, name: "0009_no_replace.sql", sql: noReplace },
];

const LEDGER_COLUMNS = ["applied_at", "name", "version"];

function refuse(why: string): never {
  throw new HeraldError("log_unavailable", why);
}

/**
 * Refuses a file this binary must not write to: a SQLite database of another program, or one whose schema a
 * newer Herald has migrated past what this binary knows. Reads only, so a refused file is left as it was.
 */
export function checkOwnership(db: Database, all: readonly Migration[] = migrations): void {
  const tables = db
    .query<{ name: string }, []>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
    .all()
    .map((t) => t.name);
  if (tables.length === 0) return;
  const columns = db
    .query<{ name: string }, []>("SELECT name FROM pragma_table_info('schema_migrations') ORDER BY name")
    .all()
    .map((c) => c.name);
  if (columns.join() !== LEDGER_COLUMNS.join()) {
    refuse(
      `the file is a SQLite database of another program (tables: ${tables.slice(0, 5).join(", ")}); point HERALD_DB at Herald's own database or a new path`,
    );
  }
  const newest = db.query<{ v: number | null }, []>("SELECT max(version) AS v FROM schema_migrations").get()?.v ?? 0;
  const known = Math.max(0, ...all.map((m) => m.version));
  if (newest > known) {
    refuse(
      `the database was written by a newer Herald (schema version ${newest}; this binary knows versions up to ${known}); run that Herald or a newer one`,
    );
  }
}

export function migrate(db: Database, all: readonly Migration[] = migrations): number[] {
  db.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const applied = new Set(
    db
      .query<{ version: number }, []>("SELECT version FROM schema_migrations")
      .all()
      .map((r) => r.version),
  );
  const record = db.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
  const done: number[] = [];
  for (const m of [...all].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.run(m.sql);
      record.run(m.version, m.name, Date.now());
    })();
    done.push(m.version);
  }
  return done;
}
