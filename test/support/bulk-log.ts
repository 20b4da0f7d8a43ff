/** A log built directly with the project's migrations: publishing hundreds of thousands of events would take minutes. */
import type { Database } from "bun:sqlite";
import { join } from "node:path";
import { openDatabase } from "../../src/log/sqlite/database";
import { migrate } from "../../src/log/sqlite/migrations";

/**
 * Writes `count` events on one topic, each with the JSON text `data`, into `dir`'s herald.db. One statement
 * generates the rows inside SQLite: a million calls from JavaScript take tens of seconds on a busy machine.
 */
/** Opens (and migrates) `dir`'s herald.db, runs `write` in one transaction with the time of its rows, closes it. */
function writeLog(dir: string, write: (db: Database, now: number) => void): void {
  const db = openDatabase(join(dir, "herald.db"), "normal");
  migrate(db);
  const now = Date.now();
  db.transaction(() => write(db, now))();
  db.close();
}

export function buildLog(dir: string, topic: string, count: number, data: string): void {
  writeLog(dir, (db, now) => {
    db.run(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
       INSERT INTO events (topic, type, data, time) SELECT ?2, NULL, ?3, ?4 FROM n`,
      [count, topic, data, now],
    );
    db.run("INSERT INTO topics (topic, events, last_id, last_time) VALUES (?, ?, ?, ?)", [topic, count, count, now]);
  });
}

/**
 * Writes `count` topics `<prefix><i>` holding one event each, and `emptied` topics retention emptied (a row with
 * no events and a pruned-through id), into `dir`'s herald.db.
 */
export function buildTopics(dir: string, prefix: string, count: number, emptied: number): void {
  writeLog(dir, (db, now) => {
    db.run(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
       INSERT INTO events (topic, type, data, time) SELECT ?2 || i, NULL, '"x"', ?3 FROM n`,
      [count, prefix, now],
    );
    db.run("INSERT INTO topics (topic, events, last_id, last_time) SELECT topic, 1, id, time FROM events");
    db.run(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
       INSERT INTO topics (topic, events, last_id, last_time, pruned_through, emptied) SELECT 'emptied.' || i, 0, 0, ?2, 1, 1 FROM n`,
      [emptied, now],
    );
  });
}
