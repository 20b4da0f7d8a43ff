/** The presence index: which selectors can share a topic, and how many streams receive a topic, each counted once. */
import { expect, test } from "bun:test";
import { canShareTopic, ListenerIndex } from "../src/hub/listeners";
import { parseSelector, parseSelectors } from "../src/names";

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
