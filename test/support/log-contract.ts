/**
 * The EventLog seam's contract, one body for every log (Centrifuge runs its broker tests the same way): a
 * factory opens a fresh log on a real store, and can break and mend that store for the fault cases.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { HeraldError } from "../../src/errors";
import type { EventDraft, EventLog, LoggedEvent, Receipt } from "../../src/log/event-log";
import { parseSelectors } from "../../src/names";
import { eventually } from "./wait";

export interface LogUnderTest {
  readonly log: EventLog;
  /** Makes the store refuse writes (its file moved away, its server killed). */
  breakStore(): Promise<void>;
  /** Undoes `breakStore`: the log must notice by itself. */
  mendStore(): Promise<void>;
  close(): Promise<void>;
}

export interface LogFactoryOptions {
  /** Retention's per-topic limit the log is opened with (a log may note topics over it as it appends). */
  readonly maxEventsPerTopic: number;
}

export type LogFactory = (options: LogFactoryOptions) => Promise<LogUnderTest>;

const draft = (topic: string, data = `"${topic}"`, event: string | null = null): EventDraft => ({ topic, event, data });
const everything = parseSelectors(["*"]);

async function readAll(log: EventLog, selectors = everything, after = 0): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = [];
  for (;;) {
    const page = await log.read({ selectors, after, limit: 100 });
    out.push(...page);
    const last = page.at(-1);
    if (page.length < 100 || !last) return out;
    after = last.id;
  }
}

async function failure(promise: Promise<unknown>): Promise<HeraldError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HeraldError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

export function logContract(name: string, open: LogFactory): void {
  describe(`EventLog contract: ${name}`, () => {
    let current: LogUnderTest | undefined;
    const fresh = async (options: LogFactoryOptions = { maxEventsPerTopic: 0 }) => {
      current = await open(options);
      return current.log;
    };
    afterEach(async () => {
      await current?.close();
      current = undefined;
    });

    test("appends get increasing ids in draft order, and the commit is announced before the answer", async () => {
      const log = await fresh();
      const announced: LoggedEvent[] = [];
      log.onCommit((events) => announced.push(...events));
      const { receipts, replayed } = await log.append([draft("a"), draft("b", '{"n":9007199254740993}', "created")]);
      expect(replayed).toBe(false);
      expect(receipts.map((r) => r.topic)).toEqual(["a", "b"]);
      expect(receipts[1]?.id).toBe((receipts[0]?.id ?? 0) + 1);
      expect(receipts[1]?.event).toBe("created");
      expect(announced.map((e) => e.id)).toEqual(receipts.map((r) => r.id));
      expect(announced[1]?.data).toBe('{"n":9007199254740993}');
      expect(log.lastId()).toBe(receipts[1]?.id ?? -1);
    });

    test("concurrent appends share one order: ids strictly increase in the order commits are announced", async () => {
      const log = await fresh();
      const announced: number[] = [];
      log.onCommit((events) => announced.push(...events.map((e) => e.id)));
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => log.append(i % 10 === 0 ? [draft("x"), draft("y"), draft("z")] : [draft("x")])),
      );
      const ids = results.flatMap((r) => r.receipts.map((x) => x.id));
      expect(new Set(ids).size).toBe(ids.length);
      expect(announced).toEqual([...ids].sort((a, b) => a - b));
      for (const r of results) {
        const batch = r.receipts.map((x) => x.id);
        expect(batch).toEqual(batch.map((_, i) => (batch[0] ?? 0) + i));
      }
      expect((await readAll(log)).map((e) => e.id)).toEqual(announced);
    });

    test("reads page by count, by bytes and by range, for exact and prefix selectors", async () => {
      const log = await fresh();
      for (let i = 0; i < 30; i++) await log.append([draft(`orders.${i % 3}`, `"${"x".repeat(100)}"`), draft("other")]);
      const orders = parseSelectors(["orders.*"]);
      const all = await readAll(log, orders);
      expect(all).toHaveLength(30);
      expect(all.every((e) => e.topic.startsWith("orders."))).toBe(true);
      const page = await log.read({ selectors: orders, after: 0, limit: 7 });
      expect(page.map((e) => e.id)).toEqual(all.slice(0, 7).map((e) => e.id));
      const small = await log.read({ selectors: orders, after: 0, limit: 100, maxBytes: 250 });
      expect(small).toHaveLength(3);
      const third = all[2]?.id ?? 0;
      const bounded = await log.read({ selectors: orders, after: 0, upTo: third, limit: 100 });
      expect(bounded.map((e) => e.id)).toEqual(all.slice(0, 3).map((e) => e.id));
      const exact = await readAll(log, parseSelectors(["orders.1", "other"]));
      expect(exact).toHaveLength(40);
      expect(await readAll(log, parseSelectors(["nothing.*"]))).toEqual([]);
    });

    test("an Idempotency-Key appends once, answers a repeat with the first receipts, refuses another body", async () => {
      const log = await fresh();
      const key = { scope: "t", key: "k-1", fingerprint: "body-1" };
      const first = await log.append([draft("t")], key);
      const again = await log.append([draft("t")], key);
      expect(again.replayed).toBe(true);
      const receipt = ({ id, topic, event, time }: Receipt) => ({ id, topic, event, time });
      expect(again.receipts.map(receipt)).toEqual(first.receipts.map(receipt));
      const conflict = await failure(log.append([draft("t", '"other"')], { ...key, fingerprint: "body-2" }));
      expect(conflict.code).toBe("idempotency_conflict");
      expect(conflict.status).toBe(422);
      expect(await log.retained()).toBe(1);
    });

    test("retention deletes past the per-topic limit and by age, and says what it pruned through", async () => {
      const log = await fresh({ maxEventsPerTopic: 5 });
      const ids: number[] = [];
      // A log may trim as it appends (the count comes back with the append) or only when pruning.
      let pruned = 0;
      for (let i = 0; i < 12; i++) {
        const { receipts, pruned: trimmed = 0 } = await log.append([draft("busy")]);
        ids.push(...receipts.map((r) => r.id));
        pruned += trimmed;
      }
      const quiet = (await log.append([draft("quiet")])).receipts[0]?.id;
      for (let n = 0; n < 20; n++) pruned += await log.prune({ before: 0, maxPerTopic: 5, limit: 3 });
      expect(pruned).toBe(7);
      expect((await readAll(log, parseSelectors(["busy"]))).map((e) => e.id)).toEqual(ids.slice(7));
      expect(await log.prunedThrough(parseSelectors(["busy"]))).toBe(ids[6] ?? -1);
      expect(await log.prunedThrough(parseSelectors(["b*"]))).toBe(ids[6] ?? -1);
      expect(await log.prunedThrough(parseSelectors(["quiet"]))).toBe(0);
      const topics = await log.topics({ selectors: everything, after: "", limit: 100 });
      expect(topics.map((t) => [t.topic, t.events, t.firstId])).toEqual([
        ["busy", 5, ids[7] ?? -1],
        ["quiet", 1, quiet ?? -1],
      ]);
      await Bun.sleep(5);
      for (let n = 0; n < 20; n++) await log.prune({ before: Date.now(), maxPerTopic: 0, limit: 4 });
      expect(await log.retained()).toBe(0);
      expect(await log.topics({ selectors: everything, after: "", limit: 100 })).toEqual([]);
      const next = await log.append([draft("busy")]);
      expect(next.receipts[0]?.id).toBe((quiet ?? 0) + 1);
      // An emptied topic that gets an event again is listed again.
      expect((await log.topics({ selectors: everything, after: "", limit: 100 })).map((t) => [t.topic, t.events])).toEqual([
        ["busy", 1],
      ]);
    });

    test("a Mercure update keeps its topics, private flag, publisher id and retry; a native event gains no field", async () => {
      const log = await fresh();
      const announced: LoggedEvent[] = [];
      log.onCommit((events) => announced.push(...events));
      const update: EventDraft = {
        topic: "https://example.com/books/1",
        alternates: ["https://example.com/books/{id}", "books"],
        event: "changed",
        data: '"<p>one</p>"',
        private: true,
        publisherId: "urn:uuid:1",
        retry: 3000,
      };
      await log.append([update, draft("plain")]);
      const [stored, plain] = await readAll(log);
      const fields = ({ topic, alternates, event, data, private: p, publisherId, retry }: LoggedEvent) => ({
        topic,
        alternates,
        event,
        data,
        private: p,
        publisherId,
        retry,
      });
      const { topic, alternates, event, data, publisherId, retry } = update;
      const expected = { topic, alternates, event, data, private: true, publisherId, retry };
      expect(stored && fields(stored)).toEqual(expected);
      expect(announced[0] && fields(announced[0])).toEqual(expected);
      expect(Object.keys(plain ?? {}).sort()).toEqual(["data", "event", "id", "time", "topic"]);
      expect(Object.keys(announced[1] ?? {}).sort()).toEqual(["data", "event", "id", "time", "topic"]);
    });

    test("an update on three topics is one event: read once through any of them, counted in each", async () => {
      const log = await fresh();
      await log.append([draft("before")]);
      const { receipts } = await log.append([{ ...draft("orders.eu", '"x"'), alternates: ["orders.us", "audit", "orders.us"] }]);
      await log.append([draft("orders.eu"), draft("audit")]);
      const id = receipts[0]?.id ?? -1;
      const ids = async (...texts: string[]) => (await readAll(log, parseSelectors(texts))).map((e) => e.id);
      expect(await ids("orders.eu", "audit")).toEqual([id, id + 1, id + 2]);
      expect(await ids("orders.us")).toEqual([id]);
      expect(await ids("orders.*")).toEqual([id, id + 1]);
      expect(await ids("orders.*", "audit")).toEqual([id, id + 1, id + 2]);
      expect(await ids("*")).toEqual([id - 1, id, id + 1, id + 2]);
      expect(await ids("orders.us", "before")).toEqual([id - 1, id]);
      const [only] = await log.read({ selectors: parseSelectors(["orders.us"]), after: 0, limit: 1 });
      expect(only?.topic).toBe("orders.eu");
      expect(only?.alternates).toEqual(["orders.us", "audit"]);
      const topics = await log.topics({ selectors: everything, after: "", limit: 100 });
      expect(topics.map((t) => [t.topic, t.events, t.firstId])).toEqual([
        ["audit", 2, id],
        ["before", 1, id - 1],
        ["orders.eu", 2, id],
        ["orders.us", 1, id],
      ]);
      expect(await log.retained()).toBe(4);
      const paged = await log.topics({ selectors: parseSelectors(["orders.*", "audit"]), after: "audit", limit: 10 });
      expect(paged.map((t) => [t.topic, t.events, t.firstId])).toEqual([
        ["orders.eu", 2, id],
        ["orders.us", 1, id],
      ]);
    });

    test("an update's topics, URLs and names beyond ASCII too, are listed and paged like any topic", async () => {
      const log = await fresh();
      const url = "https://example.com/books/1";
      await log.append([{ ...draft(url), alternates: ["\u00fcber", "books"] }, draft("a")]);
      const page = async (after: string, limit: number) =>
        (await log.topics({ selectors: everything, after, limit })).map((t) => t.topic);
      expect(await page("", 10)).toEqual(["a", "books", url, "\u00fcber"]);
      expect(await page("books", 1)).toEqual([url]);
      expect(await page(url, 10)).toEqual(["\u00fcber"]);
    });

    test("an update trimmed through one topic is pruned on the others, under their prefixes too, and empties them", async () => {
      const log = await fresh({ maxEventsPerTopic: 1 });
      const update = (await log.append([{ ...draft("main.x"), alternates: ["side.y"] }])).receipts[0]?.id ?? -1;
      await log.append([draft("main.x")]);
      for (let n = 0; n < 10; n++) await log.prune({ before: 0, maxPerTopic: 1, limit: 10 });
      for (const selector of ["side.y", "side.*", "s*", "*"]) {
        expect(await log.prunedThrough(parseSelectors([selector]))).toBe(update);
      }
      expect(await readAll(log, parseSelectors(["side.*"]))).toEqual([]);
      expect((await log.topics({ selectors: everything, after: "", limit: 100 })).map((t) => t.topic)).toEqual(["main.x"]);
    });

    test("a publisher's id finds the earliest retained event that has it", async () => {
      const log = await fresh({ maxEventsPerTopic: 2 });
      const keyed = (topic: string, publisherId: string) => ({ ...draft(topic), publisherId });
      const first = (await log.append([keyed("a", "dup")])).receipts[0]?.id;
      const second = (await log.append([keyed("b", "dup"), keyed("b", "other")])).receipts[0]?.id;
      expect(await log.findPublisherId("dup")).toBe(first);
      expect(await log.findPublisherId("other")).toBe((second ?? 0) + 1);
      expect(await log.findPublisherId("unknown")).toBeUndefined();
      expect(await log.findPublisherId("urn:herald:1")).toBeUndefined();
      // Retention deletes the first: the id now finds the one after it.
      for (let i = 0; i < 3; i++) await log.append([draft("a")]);
      for (let n = 0; n < 10; n++) await log.prune({ before: 0, maxPerTopic: 2, limit: 10 });
      expect(await log.findPublisherId("dup")).toBe(second);
    });

    test("retention counts an update in each of its topics and deletes it from all of them", async () => {
      const log = await fresh({ maxEventsPerTopic: 2 });
      const shared = (await log.append([{ ...draft("main"), alternates: ["side"] }])).receipts[0]?.id ?? -1;
      await log.append([draft("side"), draft("main")]);
      const last = (await log.append([draft("side")])).receipts[0]?.id ?? -1;
      for (let n = 0; n < 10; n++) await log.prune({ before: 0, maxPerTopic: 2, limit: 10 });
      // `side` had three events: its oldest, the update, went, from `main` too.
      expect((await readAll(log, parseSelectors(["side"]))).map((e) => e.id)).toEqual([shared + 1, last]);
      expect((await readAll(log, parseSelectors(["main"]))).map((e) => e.id)).toEqual([shared + 2]);
      expect(await log.prunedThrough(parseSelectors(["side"]))).toBe(shared);
      expect(await log.prunedThrough(parseSelectors(["main"]))).toBe(shared);
      expect((await log.topics({ selectors: everything, after: "", limit: 100 })).map((t) => [t.topic, t.events])).toEqual([
        ["main", 1],
        ["side", 2],
      ]);
      await Bun.sleep(5);
      for (let n = 0; n < 10; n++) await log.prune({ before: Date.now(), maxPerTopic: 0, limit: 10 });
      expect(await log.retained()).toBe(0);
      expect(await log.topics({ selectors: everything, after: "", limit: 100 })).toEqual([]);
    });

    test("private updates count in each of their topics; a topic's public summary leaves them out, as retention does its counts", async () => {
      const log = await fresh({ maxEventsPerTopic: 3 });
      const secret = (topic: string, alternates?: string[]) => ({
        ...draft(topic),
        private: true,
        ...(alternates && { alternates }),
      });
      const one = async (d: EventDraft) => (await log.append([d])).receipts[0] as Receipt;
      await one(secret("mixed", ["side"]));
      await one(draft("mixed"));
      await one(secret("mixed"));
      const shown = await one(draft("mixed"));
      await one(secret("mixed"));
      await log.append([secret("hidden"), secret("hidden")]);
      for (let n = 0; n < 10; n++) await log.prune({ before: 0, maxPerTopic: 3, limit: 10 });
      // `mixed` kept its newest three (private, public, private); the first update went from `side` with it.
      const counts = async () =>
        (await log.topics({ selectors: everything, after: "", limit: 100 })).map((t) => [t.topic, t.events, t.privateEvents]);
      expect(await counts()).toEqual([
        ["hidden", 2, 2],
        ["mixed", 3, 2],
      ]);
      expect(await log.publicSummary("mixed")).toEqual({
        topic: "mixed",
        events: 1,
        firstId: shown.id,
        lastId: shown.id,
        lastTime: shown.time,
        privateEvents: 0,
      });
      for (const topic of ["hidden", "side", "nothing"]) expect(await log.publicSummary(topic)).toBeUndefined();
      await Bun.sleep(5);
      for (let n = 0; n < 10; n++) await log.prune({ before: Date.now(), maxPerTopic: 0, limit: 10 });
      expect(await log.topics({ selectors: everything, after: "", limit: 100 })).toEqual([]);
      // Counted off to nothing: a topic that gets events again counts only its new ones.
      await log.append([draft("hidden"), secret("side", ["hidden"])]);
      expect(await counts()).toEqual([
        ["hidden", 2, 1],
        ["side", 1, 1],
      ]);
      expect((await log.publicSummary("hidden"))?.events).toBe(1);
    });

    test("a topic's public summary steps over long runs of private updates at either end", async () => {
      const log = await fresh();
      const hidden = (n: number) => Array.from({ length: n }, () => ({ ...draft("long"), private: true }));
      await log.append(hidden(700));
      const shown = (await log.append([draft("long")])).receipts[0] as Receipt;
      await log.append([...hidden(600), { ...draft("other"), alternates: ["long"], private: true }]);
      expect(await log.publicSummary("long")).toEqual({
        topic: "long",
        events: 1,
        firstId: shown.id,
        lastId: shown.id,
        lastTime: shown.time,
        privateEvents: 0,
      });
    });

    test("topics come a page at a time, in byte order, for exact and prefix selectors, each once", async () => {
      const log = await fresh();
      const names = ["b.2", "a", "b.10", "b", "B", "c.x", "b.1", "a.z"];
      await log.append(names.map((t) => draft(t)));
      await log.append([draft("b.1")]);
      const page = async (selectors: string[], after: string, limit: number) =>
        (await log.topics({ selectors: parseSelectors(selectors), after, limit })).map((t) => t.topic);
      const sorted = [...names].sort();
      expect(sorted).toEqual(["B", "a", "a.z", "b", "b.1", "b.10", "b.2", "c.x"]);
      expect(await page(["*"], "", 3)).toEqual(sorted.slice(0, 3));
      expect(await page(["*"], "a.z", 3)).toEqual(sorted.slice(3, 6));
      expect(await page(["*"], "b.2", 3)).toEqual(["c.x"]);
      expect(await page(["b.*", "a", "b.1"], "", 10)).toEqual(["a", "b.1", "b.10", "b.2"]);
      expect(await page(["b*", "c.x"], "b.1", 2)).toEqual(["b.10", "b.2"]);
      expect(await page(["nothing.*", "zz"], "", 10)).toEqual([]);
      const [b1] = await log.topics({ selectors: parseSelectors(["b.1"]), after: "", limit: 1 });
      expect(b1).toMatchObject({ topic: "b.1", events: 2 });
      expect(b1?.lastId).toBeGreaterThan(b1?.firstId ?? Number.POSITIVE_INFINITY);
    });

    test("a failing store refuses appends with a fault and Retry-After, and the log recovers by itself", async () => {
      const log = await fresh();
      const before = await log.append([draft("f")]);
      await current?.breakStore();
      const refused = await failure(log.append([draft("f")]));
      expect(["log_unavailable", "storage_full"]).toContain(refused.code);
      expect(refused.headers["Retry-After"]).toBeDefined();
      expect(log.faults.current?.reason).toBe(refused.code as "log_unavailable");
      await current?.mendStore();
      let after: number | undefined;
      await eventually(async () => {
        after = (await log.append([draft("f")]).catch(() => undefined))?.receipts[0]?.id;
        return after !== undefined;
      }, 15_000);
      await eventually(() => log.faults.current === undefined, 5000);
      expect(after).toBeGreaterThan(before.receipts[0]?.id ?? 0);
      const kept = await readAll(log, parseSelectors(["f"]));
      expect(kept.map((e) => e.id)).toEqual([before.receipts[0]?.id ?? -1, after ?? -1]);
    });
  });
}
