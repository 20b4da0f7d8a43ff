/**
 * Mercure updates in the hub, in process: an update on several topics reaches a stream once, live and in
 * replay, and a private update reaches only a stream allowed to read it.
 */
import { afterAll, expect, test } from "bun:test";
import fc from "fast-check";
import { Broadcaster, type EncodedBatch, type Subscriber } from "../src/hub/broadcaster";
import { Hub } from "../src/hub/hub";
import type { LoggedEvent } from "../src/log/event-log";
import { SqliteEventLog } from "../src/log/sqlite/sqlite-log";
import { createLogger } from "../src/logger";
import { Metrics } from "../src/metrics";
import { parseSelectors, type Selector, selects } from "../src/names";
import { templateSelector } from "../src/patterns/selectors";
import { removeDir, tempDir } from "./support/herald";

const dir = tempDir();
afterAll(() => removeDir(dir));

function subscriber(texts: string[], readsPrivate = false): Subscriber & { got: number[] } {
  const got: number[] = [];
  return {
    selectors: parseSelectors(texts),
    form: "data",
    got,
    readsPrivate: () => readsPrivate,
    receive(batch: EncodedBatch, indexes: readonly number[]) {
      for (const i of indexes) got.push(batch.events[i]?.id ?? -1);
    },
  };
}

const event = (id: number, topic: string, extra: Partial<LoggedEvent> = {}): LoggedEvent => ({
  id,
  topic,
  event: null,
  data: `"${id}"`,
  time: 0,
  ...extra,
});

test("the broadcaster hands an update on three topics once to a stream matching two, and private ones only where allowed", () => {
  const broadcaster = new Broadcaster(0);
  const two = subscriber(["a", "c"]);
  const prefix = subscriber(["x.*", "b"]);
  const other = subscriber(["d"]);
  const allowed = subscriber(["a"], true);
  for (const s of [two, prefix, other, allowed]) broadcaster.add(s);
  broadcaster.dispatch([
    event(1, "a", { alternates: ["b", "c"] }),
    event(2, "c"),
    event(3, "x.1", { alternates: ["x.2", "a"] }),
    event(4, "a", { private: true }),
    event(5, "c", { alternates: ["a"], private: true }),
  ]);
  expect(two.got).toEqual([1, 2, 3]);
  expect(prefix.got).toEqual([1, 3]);
  expect(other.got).toEqual([]);
  expect(allowed.got).toEqual([1, 3, 4, 5]);
});

test("the broadcaster finds the streams of exact topics, prefixes and templates as a scan of every selector does, through adds and removes", () => {
  // Few characters, so literal prefixes nest and templates share them; `{x}` alone has the empty prefix.
  const text = fc.string({ unit: fc.constantFrom("a", "b", "/"), maxLength: 3 });
  const selector = fc.oneof(
    text.map((t): Selector => ({ text: t, value: t, isPrefix: false })),
    text.map((t): Selector => ({ text: `${t}*`, value: t, isPrefix: true })),
    fc.tuple(text, fc.constantFrom("{x}", "{/x}", "b{x}")).map(([t, v]) => templateSelector(`${t}${v}`)),
  );
  const scenario = fc.record({
    subs: fc.array(fc.array(selector, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 8 }),
    ops: fc.array(fc.record({ remove: fc.boolean(), at: fc.nat() }), { maxLength: 30 }),
    topics: fc.array(fc.string({ unit: fc.constantFrom("a", "b", "/"), maxLength: 6 }), { minLength: 1, maxLength: 6 }),
  });
  fc.assert(
    fc.property(scenario, ({ subs: selectorLists, ops, topics }) => {
      const broadcaster = new Broadcaster(0);
      const subs = selectorLists.map((selectors): Subscriber => ({ ...subscriber(["unused"]), selectors }));
      const added = new Set<Subscriber>();
      for (const { remove, at } of ops) {
        const sub = subs[at % subs.length] as Subscriber;
        if (remove && added.has(sub)) {
          broadcaster.remove(sub);
          added.delete(sub);
        } else if (!remove && !added.has(sub)) {
          broadcaster.add(sub);
          added.add(sub);
        }
        for (const topic of topics) {
          const expected = [...added].filter((s) => s.selectors.some((sel) => selects(sel, topic)));
          expect(new Set(broadcaster.subscribersOf(topic))).toEqual(new Set(expected));
        }
      }
    }),
    { numRuns: 300 },
  );
});

async function ids(stream: ReadableStream<Uint8Array>, count: number): Promise<number[]> {
  const out: number[] = [];
  let text = "";
  for await (const chunk of stream) {
    text += new TextDecoder().decode(chunk);
    out.splice(0, out.length, ...[...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])));
    if (out.length >= count) return out;
  }
  return out;
}

test("a stream replays an update on several of its topics once, then gets live ones once; private ones are left out", async () => {
  const log = SqliteEventLog.open(`${dir}/updates.db`, "normal", createLogger("error"));
  const hub = new Hub(
    log,
    { retryMs: 1000, heartbeatMs: 60_000, subscriberBufferBytes: 1 << 20, maxSubscribers: 10 },
    createLogger("error"),
    new Metrics(),
  );
  const update = (topic: string, alternates: string[], isPrivate = false) => ({
    topic,
    alternates,
    event: null,
    data: '"u"',
    ...(isPrivate && { private: true }),
  });
  await hub.publish([update("a", ["b"]), update("b", ["a"], true), { topic: "c", event: null, data: '"n"' }]);
  const abort = new AbortController();
  const sub = hub.open({
    selectors: parseSelectors(["a", "b", "c"]),
    form: "data",
    resumeFrom: { value: 0, text: "0" },
    signal: abort.signal,
  });
  const received = ids(sub.stream, 5);
  await hub.publish([update("b", ["a", "c"]), update("a", ["c"], true), update("c", [])]);
  await hub.publish([{ topic: "a", event: null, data: '"end"' }]);
  expect(await received).toEqual([1, 3, 4, 6, 7]);
  abort.abort();
  await hub.drain();
  await log.close();
});
