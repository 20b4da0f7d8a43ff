/** A log built directly with the project's migrations: publishing hundreds of thousands of events would take minutes. */
import { join } from "node:path";
import { migrate } from "../../src/log/migrations";
import { openLog } from "../../src/log/sqlite-writer";

/** Writes `count` events on one topic, each with `data` (JSON text), into `dir`'s herald.db in one transaction. */
export function buildLog(dir: string, topic: string, count: number, data: (i: number) => string): void {
  const db = openLog(join(dir, "herald.db"), "normal");
  migrate(db);
  const insert = db.query("INSERT INTO events (topic, type, data, time) VALUES (?, NULL, ?, ?)");
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < count; i++) insert.run(topic, data(i), now);
    db.run("INSERT INTO topics (topic, events, last_id, last_time) VALUES (?, ?, ?, ?)", [topic, count, count, now]);
  })();
  db.close();
}
