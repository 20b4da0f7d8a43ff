/**
 * What a commit writes: every page it changes goes to the WAL (and, under HERALD_SYNC=full, through a flush), so a
 * page changed for nothing costs every publish. Counted in WAL frames, which do not depend on timing.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { EventDraft } from "../src/log/event-log";
import { SqliteEventLog } from "../src/log/sqlite/sqlite-log";
import { createLogger } from "../src/logger";
import { removeDir, tempDir } from "./support/herald";

const dir = tempDir();
afterAll(() => removeDir(dir));

const WAL_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 24;

test("an append to a topic that has events writes four pages: the event, its topic index, the id sequence, the topic's counts", async () => {
  const path = join(dir, "herald.db");
  const wal = `${path}-wal`;
  const log = SqliteEventLog.open(path, "normal", createLogger("error"));
  try {
    const draft: EventDraft = { topic: "orders", event: null, data: '"x"' };
    await log.append([draft]);
    const pageSize = readFileSync(wal).readUInt32BE(8);
    const frames = () => (statSync(wal).size - WAL_HEADER_BYTES) / (FRAME_HEADER_BYTES + pageSize);
    for (let i = 0; i < 3; i++) {
      const before = frames();
      await log.append([draft]);
      expect(frames() - before).toBe(4);
    }
  } finally {
    await log.close();
  }
});
