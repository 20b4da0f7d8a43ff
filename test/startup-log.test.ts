/** A database Herald must not use at start-up: one `herald: ...` line, exit code 2, and the file left as it was. */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expectOneLine, refusal } from "./support/faults";
import { publish, removeDir, startHerald, tempDir } from "./support/herald";

const dir = tempDir();
afterAll(() => removeDir(dir));

test("random bytes: not a database", async () => {
  const db = join(dir, "random.db");
  const bytes = crypto.getRandomValues(new Uint8Array(64 * 1024));
  writeFileSync(db, bytes);
  expectOneLine(await refusal(db), /not a database \(SQLITE_NOTADB\)/);
  expect(new Uint8Array(readFileSync(db))).toEqual(bytes);
});

test("another program's SQLite database: refused, and not even switched to WAL", async () => {
  const db = join(dir, "foreign.db");
  const foreign = new Database(db);
  foreign.run("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
  foreign.run("INSERT INTO customers (name) VALUES ('Ada')");
  foreign.close();
  const before = readFileSync(db);
  expectOneLine(await refusal(db), /another program \(tables: customers\)/);
  expect(readFileSync(db).equals(before)).toBe(true);
});

test("a schema from a newer Herald: refused, naming both versions", async () => {
  const h = await startHerald({ dir: join(dir, "newer") });
  await publish(h.url, "kept", "x");
  expect(await h.stop()).toBe(0);
  const db = new Database(h.db);
  db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)");
  db.close();
  expectOneLine(await refusal(h.db), /newer Herald \(schema version 999; this binary knows versions up to \d+\)/);
});

test("a path that cannot be a database file: a directory", async () => {
  const db = join(dir, "a-directory.db");
  mkdirSync(db);
  expectOneLine(await refusal(db), /SQLITE_CANTOPEN/);
});

test("an empty file is a new log, not an error", async () => {
  const db = join(dir, "empty", "herald.db");
  mkdirSync(join(dir, "empty"));
  writeFileSync(db, "");
  const h = await startHerald({ dir: join(dir, "empty") });
  expect((await publish(h.url, "t", "first")).id).toBe("1");
  expect(await h.stop()).toBe(0);
});
