/** The presence index: which selectors can share a topic, and how many streams receive a topic, each counted once. */
import { expect, test } from "bun:test";
import { canShareTopic, ListenerIndex } from "../src/hub/listeners";
import { parseSelector, parseSelectors, type Selector } from "../src/names";
import { templateSelector, urlPatternSelector } from "../src/patterns/selectors";

const BOOK = templateSelector("https://example.com/books/{id}");
const REVIEW = urlPatternSelector("https://example.com/books/:id/reviews", "https://hub.example/.well-known/mercure");

test("two selectors can share a topic when some topic matches both", () => {
  const table: Array<[string, string, boolean]> = [
    ["a.b", "a.b", true],
    ["a.b", "a.c", false],
    ["a.*", "a.b", true],
    ["a.*", "a", false],
    ["a.*", "a.b.*", true],
    ["a.b.*", "a.c.*", false],
    ["*", "anything", true],
    ["*", "x.*", true],
    ["ab*", "a.*", false],
  ];
  for (const [a, b, shared] of table) {
    expect(canShareTopic(parseSelector(a), parseSelector(b)), `${a} ${b}`).toBe(shared);
    expect(canShareTopic(parseSelector(b), parseSelector(a)), `${b} ${a}`).toBe(shared);
  }
});

test("a pattern shares a topic it matches, not one that only starts like it; two patterns go by their literal starts", () => {
  const topic = (text: string): Selector => ({ text, value: text, isPrefix: false });
  const table: Array<[Selector, Selector, boolean]> = [
    [BOOK, topic("https://example.com/books/1"), true],
    [BOOK, topic("https://example.com/books/1/reviews"), false],
    [BOOK, topic("https://example.com/books/{id}"), true],
    [BOOK, topic("https://example.com/authors/1"), false],
    [REVIEW, topic("https://example.com/books/1/reviews"), true],
    [REVIEW, topic("https://example.com/books/1"), false],
    [BOOK, parseSelector("*"), true],
    [BOOK, { text: "https://example.com/*", value: "https://example.com/", isPrefix: true }, true],
    [BOOK, { text: "https://example.org/*", value: "https://example.org/", isPrefix: true }, false],
    [BOOK, REVIEW, true],
  ];
  for (const [a, b, shared] of table) {
    expect(canShareTopic(a, b), `${a.text} ${b.text}`).toBe(shared);
    expect(canShareTopic(b, a), `${b.text} ${a.text}`).toBe(shared);
  }
});

test("a topic's count is every stream one of whose selectors matches it, once, and falls back as streams leave", () => {
  const index = new ListenerIndex<{ selectors: ReturnType<typeof parseSelectors> }>();
  const streams = [
    { selectors: parseSelectors(["orders.*", "orders.eu", "orders.eu.*"]) },
    { selectors: parseSelectors(["orders.eu", "users"]) },
    { selectors: parseSelectors(["*"]) },
    { selectors: parseSelectors(["orders.eu.paris"]) },
    { selectors: parseSelectors(["o*", "orders.*"]) },
  ];
  for (const s of streams) index.add(s);
  expect(index.count("orders.eu")).toBe(4);
  expect(index.count("orders.eu.paris")).toBe(4);
  expect(index.count("users")).toBe(2);
  expect(index.count("other")).toBe(2);
  expect(index.count("x")).toBe(1);
  for (const s of streams) index.remove(s);
  for (const topic of ["orders.eu", "orders.eu.paris", "users", "other", "x"]) expect(index.count(topic)).toBe(0);
});

test("a pattern counts a topic only when it matches it, once beside a selector of its stream that matches too", () => {
  const index = new ListenerIndex<{ selectors: readonly Selector[] }>();
  const exact = (text: string): Selector => ({ text, value: text, isPrefix: false });
  const streams = [
    { selectors: [BOOK] },
    { selectors: [REVIEW] },
    { selectors: [BOOK, exact("https://example.com/books/1")] },
    { selectors: [BOOK, REVIEW] },
  ];
  for (const s of streams) index.add(s);
  expect(index.count("https://example.com/books/1")).toBe(3);
  expect(index.count("https://example.com/books/{id}")).toBe(3);
  expect(index.count("https://example.com/books/1/reviews")).toBe(2);
  expect(index.count("https://example.com/books/1/2")).toBe(0);
  expect(index.count("https://example.com/authors/1")).toBe(0);
  for (const s of streams) index.remove(s);
  for (const topic of ["https://example.com/books/1", "https://example.com/books/1/reviews"]) {
    expect(index.count(topic)).toBe(0);
  }
});
