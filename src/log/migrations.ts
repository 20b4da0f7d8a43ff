/** Applies the numbered SQL files of `migrations/` in order, once each, recording them. */
import type { Database } from "bun:sqlite";
// Imported as text so `bun build --compile` embeds them in the binary.
import events from "../../migrations/0001_events.sql" with { type: "text" };
import idempotency from "../../migrations/0002_idempotency.sql" with { type: "text" };
import topicCounts from "../../migrations/0003_topic_counts_per_commit.sql" with { type: "text" };

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  { version: 1, name: "0001_events.sql", sql: events },
  { version: 2, name: "0002_idempotency.sql", sql: idempotency },
  { version: 3, name: "0003_topic_counts_per_commit.sql", sql: topicCounts },
];

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
