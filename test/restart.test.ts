import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { EventSource } from "eventsource";
import { openDatabase } from "../src/log/sqlite/database";
import { migrate, migrations } from "../src/log/sqlite/migrations";
import { type Herald, publish, removeDir, startHerald, tempDir, testLog } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

const dir = tempDir();
afterAll(() => removeDir(dir));

test("a real EventSource rides a server kill and restart: every event once, ids continue, old events served", async () => {
  let herald: Herald = await startHerald({ dir, env: { HERALD_RETRY_MS: "200" } });
  const port = herald.port;
  const es = new EventSource(streamUrl(herald.url, ["restart"]));
  const got: string[] = [];
  const ids: string[] = [];
  es.onmessage = (m) => {
    got.push(m.data);
    ids.push(m.lastEventId);
  };
  await new Promise((resolve) => (es.onopen = resolve));
  await publish(herald.url, "restart", "a");
  await publish(herald.url, "restart", "b");
  await eventually(() => got.length === 2);

  await herald.kill();
  herald = await startHerald({ dir, port, env: { HERALD_RETRY_MS: "200" } });
  // Published before the client is back: it must come through the replay on reconnect.
  const { id: cId } = await publish(herald.url, "restart", "c");
  expect(Number(cId)).toBeGreaterThan(Number(ids[1]));
  await eventually(() => got.length === 3);
  await publish(herald.url, "restart", "d");
  await eventually(() => got.length === 4);
  await Bun.sleep(100);
  expect(got).toEqual(["a", "b", "c", "d"]);
  expect(new Set(ids).size).toBe(4);
  es.close();

  const history = (await (await fetch(`${herald.url}/events?topic=restart`)).json()) as { events: Array<{ data: string }> };
  expect(history.events.map((e) => e.data)).toEqual(["a", "b", "c", "d"]);
  expect(await herald.stop()).toBe(0);
});

// The embedded log's own file; the Redis log has its own tests (test/redis-*.test.ts).
test.skipIf(testLog !== "sqlite")(
  "migrations are recorded once, the log is in WAL mode, and updates are refused by the database",
  async () => {
    const herald = await startHerald({ dir });
    await publish(herald.url, "sealed", "original");
    expect(await herald.stop()).toBe(0);
    const again = await startHerald({ dir });
    expect(await again.stop()).toBe(0);

    const db = new Database(`${dir}/herald.db`);
    expect(db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()?.journal_mode).toBe("wal");
    const versions = db
      .query<{ version: number; name: string }, []>("SELECT version, name FROM schema_migrations ORDER BY version")
      .all();
    const files = readdirSync(join(import.meta.dir, "..", "migrations"))
      .filter((f) => f.endsWith(".sql"))
      .sort();
    expect(versions.map((v) => v.name)).toEqual(files);
    expect(versions.map((v) => v.version)).toEqual(files.map((f) => Number.parseInt(f, 10)));
    const sealed = db.query<{ id: number }, []>("SELECT id FROM events WHERE topic = 'sealed'").get()?.id;
    const forgeries = [
      "UPDATE events SET data = '\"forged\"' WHERE topic = 'sealed'",
      `INSERT INTO events (id, topic, data, time) VALUES (${sealed}, 'sealed', '"forged"', 0) ON CONFLICT (id) DO UPDATE SET data = excluded.data`,
      // REPLACE deletes and inserts: no UPDATE, and no delete trigger, happens.
      `REPLACE INTO events (id, topic, data, time) VALUES (${sealed}, 'sealed', '"forged"', 0)`,
      `INSERT OR REPLACE INTO events (id, topic, data, time) VALUES (${sealed}, 'sealed', '"forged"', 0)`,
      // An id once used, even one no event holds now, is never written again.
      "INSERT INTO events (id, topic, data, time) VALUES (1, 'sealed', '\"forged\"', 0)",
    ];
    for (const sql of forgeries) expect(() => db.run(sql)).toThrow(/append-only/);
    expect(db.query<{ data: string }, []>("SELECT data FROM events WHERE topic = 'sealed'").all()).toEqual([
      { data: '"original"' },
    ]);
    db.close();
  },
);

/**
 * A log written by a Herald that knew the migrations up to `version`, filled by `fill`, then opened by this
 * one: `check` sees the hub and the file it migrated.
 */
async function upgraded(
  version: number,
  fill: (db: Database) => void,
  check: (herald: Herald, file: string) => Promise<void>,
): Promise<void> {
  const old = tempDir();
  const file = join(old, "herald.db");
  try {
    const db = openDatabase(file, "normal");
    migrate(
      db,
      migrations.filter((m) => m.version <= version),
    );
    fill(db);
    db.close();
    const herald = await startHerald({ dir: old });
    try {
      await check(herald, file);
    } finally {
      expect(await herald.stop()).toBe(0);
    }
  } finally {
    removeDir(old);
  }
}

test.skipIf(testLog !== "sqlite")(
  "a log from before the read bounds learns each topic's longest data and last update from its events",
  () =>
    upgraded(
      5,
      (db) => {
        const insert = db.query(
          "INSERT INTO events (topic, type, data, time, alternates, private, publisher_id, retry) VALUES ('a', NULL, ?, 0, ?, NULL, ?, NULL)",
        );
        insert.run('"native"', null, null);
        // Two bytes for é and four for the emoji, which JavaScript counts as two: the bound is in bytes.
        insert.run('"une mise à jour 😀"', '["b"]', "urn:one");
        insert.run('"native again"', null, null);
        db.run("INSERT INTO event_topics (id, topic) VALUES (2, 'b')");
        db.run("INSERT INTO topics (topic, events, last_id, last_time) VALUES ('a', 3, 3, 0), ('b', 1, 2, 0), ('gone', 0, 1, 0)");
      },
      async (herald, file) => {
        const read = new Database(file, { readonly: true });
        const bounds = read
          .query<{ topic: string; max_data: number; last_update: number | null }, []>(
            "SELECT topic, max_data, last_update FROM topics ORDER BY topic",
          )
          .all();
        read.close();
        const update = Buffer.byteLength('"une mise à jour 😀"');
        expect(bounds).toEqual([
          { topic: "a", max_data: update, last_update: 2 },
          { topic: "b", max_data: update, last_update: 2 },
          { topic: "gone", max_data: 0, last_update: null },
        ]);
        // The topic retention emptied is marked so: pages of /topics step over it.
        const listed = (await (await fetch(`${herald.url}/topics`)).json()) as { topics: Array<{ topic: string }> };
        expect(listed.topics.map((t) => t.topic)).toEqual(["a", "b"]);
        // The last update known, a replay over it reads its columns: the update keeps its fields.
        const stream = await SseReader.open(`${herald.url}/stream?topic=a&envelope=true&lastEventId=0`);
        await stream.count(3);
        stream.close();
        const envelopes = stream.events.map((e) => JSON.parse(e.data) as { id: string; mercure?: { id: string } });
        expect(envelopes.map((e) => [e.id, e.mercure?.id])).toEqual([
          ["1", undefined],
          ["2", "urn:one"],
          ["3", undefined],
        ]);
      },
    ),
);

test.skipIf(testLog !== "sqlite")(
  "a log from before private counts learns each topic's private updates, canonical and alternate, from its events",
  () =>
    upgraded(
      7,
      (db) => {
        const insert = db.query(
          "INSERT INTO events (topic, type, data, time, alternates, private, publisher_id, retry) VALUES (?, NULL, '\"x\"', 0, ?, ?, NULL, NULL)",
        );
        insert.run("a", null, 1);
        insert.run("a", '["b"]', 1);
        insert.run("a", null, null);
        insert.run("b", null, null);
        db.run("INSERT INTO event_topics (id, topic) VALUES (2, 'b')");
        db.run("INSERT INTO topics (topic, events, last_id, last_time, last_update) VALUES ('a', 3, 3, 0, 2), ('b', 2, 4, 0, 2)");
      },
      async (herald, file) => {
        const read = new Database(file, { readonly: true });
        const counts = read.query("SELECT topic, private_events FROM topics ORDER BY topic").all();
        read.close();
        expect(counts).toEqual([
          { topic: "a", private_events: 2 },
          { topic: "b", private_events: 1 },
        ]);
        // Open mode: no one may read a private update, so each topic shows its public events only.
        const listed = (await (await fetch(`${herald.url}/topics`)).json()) as {
          topics: Array<{ topic: string; events: number; firstId: string }>;
        };
        expect(listed.topics.map((t) => [t.topic, t.events, t.firstId])).toEqual([
          ["a", 1, "3"],
          ["b", 1, "4"],
        ]);
      },
    ),
);
