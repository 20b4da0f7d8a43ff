/**
 * Pages SQLite frames itself (src/log/sqlite/frames.ts) against the same pages read as events and framed by
 * sse/encode.ts: the same bytes, the same count and last id, and no framed page where SQLite cannot match them.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import fc from "fast-check";
import { HERALD_ID_PREFIX } from "../src/event-json";
import type { EventDraft, LoggedEvent, ReadRange } from "../src/log/event-log";
import { SqliteEventLog } from "../src/log/sqlite/sqlite-log";
import { createLogger } from "../src/logger";
import { parseSelectors } from "../src/names";
import { encodeEvents, type WireForm } from "../src/sse/encode";
import { removeDir, tempDir } from "./support/herald";

const dir = tempDir();
const log = SqliteEventLog.open(join(dir, "herald.db"), "normal", createLogger("error"));
afterAll(async () => {
  await log.close();
  removeDir(dir);
});

const PAGE_BYTES = 1024 * 1024;
/** The forms the log frames, and the prefix of each one's ids: `/stream`'s and the Mercure endpoint's. */
const FORMS: readonly (readonly [WireForm, string])[] = [
  ["data", ""],
  ["mercure", HERALD_ID_PREFIX],
];
let topics = 0;

/** What a line split or an escape can trip on: CR, LF, CRLF, quotes, backslashes, controls, astral and lone surrogates. */
const AWKWARD = ["\r", "\n", "\r\n", "\n\r", '"', "\\", "\\u", "\t", "\u0000", "\u0001", "\u2028", "é", "😀", "\ud800", "\udfff"];
const awkwardText = fc.string({
  unit: fc.oneof(fc.constantFrom(...AWKWARD), fc.string({ unit: "grapheme", maxLength: 4 })),
  maxLength: 12,
});

/** Data as the hub stores it: canonical JSON of any value, strings often. */
const data = fc.oneof(awkwardText, fc.jsonValue({ maxDepth: 2 })).map((value) => JSON.stringify(value) ?? "null");
const type = fc.option(fc.stringMatching(/^[A-Za-z0-9._:-]{1,12}$/), { nil: null });

/** A JSON string with a `\u` escape: SQLite would not unescape it as JavaScript does. */
const hasUnicodeEscape = (e: LoggedEvent) => e.data.startsWith('"') && e.data.includes("\\u");

async function publish(drafts: readonly Omit<EventDraft, "topic">[]): Promise<string> {
  const topic = `framed.${topics++}`;
  await log.append(drafts.map((d) => ({ ...d, topic })));
  return topic;
}

function range(topic: string | string[], after: number, limit: number, maxBytes = PAGE_BYTES): ReadRange {
  return { selectors: parseSelectors(typeof topic === "string" ? [topic] : topic), after, upTo: log.lastId(), limit, maxBytes };
}

test("each page SQLite frames is, byte for byte, the page read as events and framed in JavaScript, in both forms", async () => {
  let framedPages = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ event: type, data }), { minLength: 1, maxLength: 30 }),
      fc.integer({ min: 1, max: 12 }),
      async (drafts, limit) => {
        const topic = await publish(drafts);
        let after = log.lastId() - drafts.length;
        for (;;) {
          const page = range(topic, after, limit);
          const events = await log.read(page);
          for (const [form, idPrefix] of FORMS) {
            const framed = await log.readFramed(page, idPrefix);
            if (framed === undefined) expect(events.some(hasUnicodeEscape)).toBe(true);
            else {
              framedPages++;
              expect(framed.bytes ?? new Uint8Array()).toEqual(encodeEvents(events, form));
              expect(framed.count).toBe(events.length);
              expect(framed.lastId).toBe(events[events.length - 1]?.id);
            }
          }
          if (events.length < limit) break;
          after = (events[events.length - 1] as LoggedEvent).id;
        }
      },
    ),
    { numRuns: 300 },
  );
  // Most pages are framed: the property is about them, not about the pages that fall back.
  expect(framedPages).toBeGreaterThan(600);
});

test("multi-line strings, types and an empty string come as sse/encode.ts frames them; Mercure's ids are URNs", async () => {
  const topic = await publish([
    { event: null, data: JSON.stringify("one\r\ntwo\rthree\nfour") },
    { event: "created", data: '""' },
    { event: null, data: '{"a":"x\\ny"}' },
    { event: "t", data: "42" },
  ]);
  const framed = await log.readFramed(range(topic, log.lastId() - 4, 10), "");
  expect(new TextDecoder().decode(framed?.bytes)).toBe(
    `id: ${log.lastId() - 3}\ndata: one\ndata: two\ndata: three\ndata: four\n\n` +
      `id: ${log.lastId() - 2}\nevent: created\ndata: \n\n` +
      `id: ${log.lastId() - 1}\ndata: {"a":"x\\ny"}\n\n` +
      `id: ${log.lastId()}\nevent: t\ndata: 42\n\n`,
  );
  const mercure = await log.readFramed(range(topic, log.lastId() - 1, 10), HERALD_ID_PREFIX);
  expect(new TextDecoder().decode(mercure?.bytes)).toBe(`id: urn:herald:${log.lastId()}\nevent: t\ndata: 42\n\n`);
});

test("no framed page where the log cannot frame it: prefixes, several selectors, updates, events that end a page by bytes, \\u escapes", async () => {
  const topic = await publish([{ event: null, data: "1" }]);
  const after = log.lastId() - 1;
  expect(await log.readFramed(range(topic, after, 10), "")).toBeDefined();
  expect(await log.readFramed(range(`${topic}*`, after, 10), "")).toBeUndefined();
  expect(await log.readFramed(range([topic, "framed.other"], after, 10), "")).toBeUndefined();

  const big = await publish([{ event: null, data: JSON.stringify("x".repeat(200)) }]);
  expect(await log.readFramed(range(big, log.lastId() - 1, 10, 1000), "")).toBeUndefined();
  expect(await log.readFramed(range(big, log.lastId() - 1, 10, 10_000), "")).toBeDefined();

  const escaped = await publish([{ event: null, data: JSON.stringify("a\u0001b") }]);
  expect(await log.readFramed(range(escaped, log.lastId() - 1, 10), "")).toBeUndefined();

  const updated = await publish([
    { event: null, data: "1" },
    { event: null, data: "2", private: true },
    { event: null, data: "3", alternates: ["framed.alternate"] },
    { event: null, data: "4" },
  ]);
  const first = log.lastId() - 4;
  expect(await log.readFramed(range(updated, first, 10), "")).toBeUndefined();
  expect(await log.readFramed(range("framed.alternate", first, 10), "")).toBeUndefined();
  // Past the topic's last update, its native events are framed again.
  expect((await log.readFramed(range(updated, first + 3, 10), ""))?.count).toBe(1);
});
