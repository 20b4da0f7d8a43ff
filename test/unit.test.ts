/** Pure parts: the SSE encoder, names and selectors, settings. */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { covers, grantsFromClaim } from "../src/auth/grants";
import { ConfigError, helpText, loadConfig } from "../src/config";
import { HeraldError } from "../src/errors";
import { compareNames, dataSize, type LoggedEvent, nameRange } from "../src/log/event-log";
import { mergeFound } from "../src/log/sqlite/reader";
import { checkEventType, checkTopic, parseEventId, parseSelector, parseSelectors } from "../src/names";
import { DAY, duration } from "../src/settings/parsers";
import { encodeEvents, eventFrame, gapNotice } from "../src/sse/encode";

const event = (data: unknown, type: string | null = null): LoggedEvent => ({
  id: 7,
  topic: "t",
  event: type,
  data: JSON.stringify(data),
  time: 0,
});

describe("SSE encoding", () => {
  test("strings split on CR, LF and CRLF into data lines", () => {
    expect(eventFrame(event("a\nb\r\nc\rd"), "data")).toBe("id: 7\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
  });
  test("empty string and trailing newline keep their empty lines", () => {
    expect(eventFrame(event(""), "data")).toBe("id: 7\ndata: \n\n");
    expect(eventFrame(event("x\n"), "data")).toBe("id: 7\ndata: x\ndata: \n\n");
  });
  test("other JSON values go out as compact JSON; the event line only when typed", () => {
    expect(eventFrame(event({ a: [1, "x\ny"] }, "kind"), "data")).toBe('id: 7\nevent: kind\ndata: {"a":[1,"x\\ny"]}\n\n');
    expect(eventFrame(event(null), "data")).toBe("id: 7\ndata: null\n\n");
  });
  test("envelope carries id, topic, event, data and time on one line", () => {
    expect(eventFrame(event("l1\nl2"), "envelope")).toBe(
      'id: 7\ndata: {"id":"7","topic":"t","event":null,"data":"l1\\nl2","time":"1970-01-01T00:00:00.000Z"}\n\n',
    );
  });
  test("the Mercure form: the publisher's id, else urn:herald:<n>; the type; the update's retry; data lines", () => {
    const update = { ...event("a\nb", "book"), publisherId: "urn:uuid:1", retry: 5000 };
    expect(eventFrame(update, "mercure")).toBe("id: urn:uuid:1\nevent: book\nretry: 5000\ndata: a\ndata: b\n\n");
    expect(eventFrame(event({ n: 1 }), "mercure")).toBe('id: urn:herald:7\ndata: {"n":1}\n\n');
    // A native stream never shows what only Mercure subscribers are told.
    expect(eventFrame(update, "data")).toBe("id: 7\nevent: book\ndata: a\ndata: b\n\n");
  });
  test("a page is its events' frames in order, in every form, those it frames itself included", () => {
    const update = { ...event("a\nb", "book"), id: 9, publisherId: "urn:uuid:1", retry: 5000 };
    const page = [
      event({ n: 1 }),
      { ...event("x\ny"), id: 8 },
      update,
      { ...event([1, 2], "kind"), id: 10 },
      { ...event(null), id: 11 },
    ];
    for (const form of ["data", "envelope", "mercure"] as const) {
      expect(new TextDecoder().decode(encodeEvents(page, form))).toBe(page.map((e) => eventFrame(e, form)).join(""));
    }
  });
  test("gap notice has no id line", () => {
    expect(new TextDecoder().decode(gapNotice(5, 9))).toBe(
      'event: herald.gap\ndata: {"lastEventId":"5","prunedThrough":"9"}\n\n',
    );
  });
});

describe("names", () => {
  test("topics", () => {
    for (const ok of ["a", "orders.eu.created", "A-b_c:d.e", "9", "x".repeat(200)]) expect(checkTopic(ok)).toBe(ok);
    for (const bad of ["", ".a", "-a", "a b", "a/b", "ä", "x".repeat(201), "a*"])
      expect(() => checkTopic(bad)).toThrow(HeraldError);
  });
  test("event types, and the reserved herald. prefix", () => {
    expect(checkEventType(undefined)).toBeNull();
    expect(checkEventType("created")).toBe("created");
    expect(() => checkEventType("herald.gap")).toThrow(/reserved/);
    for (const bad of ["", "a b", "a\nb", "e".repeat(65)]) expect(() => checkEventType(bad)).toThrow(HeraldError);
  });
  test("selectors are a topic or a prefix", () => {
    const star = parseSelector("*");
    const orders = parseSelector("orders.*");
    expect(star).toMatchObject({ isPrefix: true, value: "" });
    expect(orders).toMatchObject({ isPrefix: true, value: "orders." });
    expect(parseSelector("orders")).toMatchObject({ isPrefix: false, value: "orders" });
    for (const bad of ["**", "a**", "*a", "a b*", ""]) expect(() => parseSelector(bad)).toThrow(HeraldError);
    expect(() => parseSelectors([])).toThrow(HeraldError);
    expect(() => parseSelectors(Array.from({ length: 51 }, (_, i) => `t${i}`))).toThrow(HeraldError);
    expect(parseSelectors(["a", "a"]).length).toBe(1);
  });
  test("event ids", () => {
    expect(parseEventId("0", "x")).toEqual({ value: 0, text: "0" });
    expect(parseEventId("042", "x")).toEqual({ value: 42, text: "42" });
    // Leading zeros do not count toward the 19 digits of a 64-bit id.
    expect(parseEventId("00000000000000000001", "x")).toEqual({ value: 1, text: "1" });
    expect(parseEventId(`${"0".repeat(30)}9223372036854775807`, "x").text).toBe("9223372036854775807");
    expect(parseEventId("0000", "x")).toEqual({ value: 0, text: "0" });
    // Past 2^53 the value compares as beyond any id this log can hold; the text stays exact.
    expect(parseEventId("9007199254740993", "x")).toEqual({ value: Number.MAX_SAFE_INTEGER, text: "9007199254740993" });
    expect(parseEventId("9223372036854775807", "x")).toEqual({ value: Number.MAX_SAFE_INTEGER, text: "9223372036854775807" });
    for (const bad of ["", "-1", "1.5", "abc", "9223372036854775808", "0x10"])
      expect(() => parseEventId(bad, "x")).toThrow(HeraldError);
  });
});

describe("settings", () => {
  test("defaults", () => {
    const c = loadConfig([], {});
    expect(c).toMatchObject({
      port: 8080,
      host: "0.0.0.0",
      db: "./data/herald.db",
      sync: "full",
      maxEventBytes: 1048576,
      retryMs: 2000,
    });
    expect(c).toMatchObject({ heartbeatMs: 15000, subscriberBufferBytes: 4194304, maxSubscribers: 10000, retentionMaxEvents: 0 });
    expect(c.retentionMaxAgeMs).toBe(7 * 86_400_000);
    expect(Object.isFrozen(c)).toBe(true);
  });
  test("flags over environment over defaults", () => {
    const c = loadConfig(["--port", "9000", "--sync=normal"], { PORT: "7000", HOST: "127.0.0.1", HERALD_SYNC: "full" });
    expect(c).toMatchObject({ port: 9000, host: "127.0.0.1", sync: "normal" });
  });
  test("bad settings are refused with a clear message", () => {
    expect(() => loadConfig([], { PORT: "eighty" })).toThrow(ConfigError);
    expect(() => loadConfig([], { HERALD_SYNC: "sometimes" })).toThrow(/HERALD_SYNC must be one of full, normal/);
    expect(() => loadConfig(["--nope", "1"], {})).toThrow(/unknown flag/);
    expect(() => loadConfig(["--port"], {})).toThrow(/needs a value/);
  });
  test("durations", () => {
    const age = duration(1, 30 * DAY, "no limit");
    expect(age("90s", "x")).toBe(90_000);
    expect(age("12h", "x")).toBe(43_200_000);
    expect(age("0", "x")).toBe(0);
    expect(() => age("soon", "x")).toThrow(ConfigError);
    expect(() => age("31d", "x")).toThrow(/out of range/);
    expect(age("0s", "x")).toBe(0);
    // Without a unit a number is no duration: "7" meant as days is not 7 ms.
    expect(() => age("7", "x")).toThrow(/x needs a unit/);
    expect(() => duration(1, DAY)("0", "x")).toThrow(/x needs a unit/);
    expect(() => duration(1, DAY)("0ms", "x")).toThrow(/out of range/);
  });
  test("--help lists every setting", () => {
    for (const name of [
      "PORT",
      "HOST",
      "HERALD_DB",
      "HERALD_SYNC",
      "HERALD_MAX_EVENT_BYTES",
      "HERALD_RETENTION_MAX_AGE",
      "HERALD_JWT_SECRET",
    ]) {
      expect(helpText()).toContain(name);
    }
  });
});

describe("coverage of selectors by grants", () => {
  const c = (granted: string, requested: string) => covers(parseSelector(granted), parseSelector(requested));
  test("the rule of the spec", () => {
    expect(c("orders.*", "orders.1")).toBe(true);
    expect(c("orders.*", "orders.eu.*")).toBe(true);
    expect(c("*", "anything.*")).toBe(true);
    expect(c("*", "*")).toBe(true);
    expect(c("orders.eu.*", "orders.*")).toBe(false);
    expect(c("orders.1", "orders.1")).toBe(true);
    expect(c("orders.1", "orders.1*")).toBe(false);
    expect(c("orders.1", "orders.10")).toBe(false);
    expect(c("orders.*", "orders")).toBe(false);
  });
  test("the herald claim", () => {
    expect(grantsFromClaim(undefined)).toEqual({ publish: [], subscribe: [] });
    expect(grantsFromClaim({ publish: ["a.*"] })?.publish.map((s) => s.text)).toEqual(["a.*"]);
    expect(grantsFromClaim({ publish: "a.*" })).toBeNull();
    expect(grantsFromClaim({ subscribe: ["https://example.com/books/*"] })?.subscribe).toEqual([
      { text: "https://example.com/books/*", value: "https://example.com/books/", isPrefix: true },
    ]);
    for (const bad of ["", "a\u0000b", "a\u200bb", "x".repeat(2049)]) expect(grantsFromClaim({ subscribe: [bad] })).toBeNull();
    expect(grantsFromClaim("x")).toBeNull();
  });
});

describe("merging what each selector found into one page", () => {
  const at = (id: number, data = "x"): LoggedEvent => ({ id, topic: "t", event: null, data, time: 0 });
  const list = (events: LoggedEvent[], complete = true) => ({ events, bytes: dataSize(events), complete });
  const found = (ids: number[], complete = true) =>
    list(
      ids.map((id) => at(id)),
      complete,
    );

  test("id order, each event once where selectors overlap", () => {
    expect(mergeFound([found([1, 4, 6]), found([2, 4, 5])], 10, 100).events.map((e) => e.id)).toEqual([1, 2, 4, 5, 6]);
  });
  test("a list that stopped early ends the page at its last id: what follows it may be missing", () => {
    expect(mergeFound([found([1, 3], false), found([2, 4, 5])], 10, 100).events.map((e) => e.id)).toEqual([1, 2, 3]);
  });
  test("a page ends at its count, or with the event that reaches its byte size, never empty", () => {
    expect(mergeFound([found([1, 2, 3])], 2, 100).events.map((e) => e.id)).toEqual([1, 2]);
    const big = list([at(1, "a".repeat(70)), at(2, "b".repeat(70)), at(3)]);
    expect(mergeFound([big], 10, 100).events.map((e) => e.id)).toEqual([1, 2]);
    expect(mergeFound([big], 10, 10).events.map((e) => e.id)).toEqual([1]);
  });
});

describe("the names a prefix spans, as the logs read them (UTF-8 byte order)", () => {
  const bytes = (s: string) => Buffer.from(s, "utf8");
  const inRange = (prefix: string, name: string) => {
    const { from, to } = nameRange({ text: `${prefix}*`, value: prefix, isPrefix: true });
    return Buffer.compare(bytes(name), bytes(from)) >= 0 && Buffer.compare(bytes(name), bytes(to)) < 0;
  };

  test("every name that starts with the prefix, and no other, whatever its last character", () => {
    // U+203FF (a CJK ideograph) ends in the low surrogate DFFF; U+FFFF is the last of the BMP; U+D7FF the last before the surrogates.
    for (const last of ["c", "e\u0301", "\u{203FF}", "\uFFFF", "\uD7FF", "\u{1F600}", "\u{10FFFF}"]) {
      const prefix = `https://example.com/${last}`;
      for (const name of [prefix, `${prefix}1`, `${prefix}\u{10FFFF}`, `${prefix}\uFFFF\uFFFF`])
        expect([last, name, inRange(prefix, name)]).toEqual([last, name, true]);
      for (const name of ["https://example.com/", "https://example.com0", `https://example.com/${last === "c" ? "d" : "c"}`])
        expect([last, name, inRange(prefix, name)]).toEqual([last, name, false]);
    }
  });
});

describe("names compared as the logs order them", () => {
  test("compareNames agrees with UTF-8 byte order, astral characters and U+E000 to U+FFFF included", () => {
    const sign = (n: number) => Math.sign(n);
    const bytes = (s: string) => Buffer.from(s, "utf8");
    // Code points near the edges where UTF-16 order and byte order part ways.
    const edge = fc.constantFrom("a", "\uD7FF", "\uE000", "\uFF21", "\uFFFF", "\u{10000}", "\u{1F600}", "\u{10FFFF}");
    const name = fc.array(fc.oneof(edge, fc.string({ unit: "binary", maxLength: 1 })), { maxLength: 4 }).map((a) => a.join(""));
    fc.assert(
      fc.property(name, name, (a, b) => sign(compareNames(a, b)) === sign(Buffer.compare(bytes(a), bytes(b)))),
      { numRuns: 5000 },
    );
  });
});
