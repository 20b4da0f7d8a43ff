/** Pure parts of the pattern matchers: URI templates, URL patterns, their limits, and grants that hold them. */
import { describe, expect, test } from "bun:test";
import { covers } from "../src/auth/grants";
import { HeraldError } from "../src/errors";
import { parseSelector, type Selector, selects } from "../src/names";
import { templateSelector, urlPatternSelector } from "../src/patterns/selectors";
import { compileTemplate, MAX_TEMPLATE_PREFIXES, MAX_TEMPLATE_VARIABLES } from "../src/patterns/uri-template";
import { compileUrlPattern, patternBase } from "../src/patterns/url-pattern";

const template = (text: string) => {
  const test = compileTemplate(text);
  if (test === undefined) throw new Error(`${text} is not a template`);
  return test;
};

/**
 * RFC 6570's own expansions (section 3.2), levels 1 to 4, of: count ("one","two","three"), dub "me/too", hello
 * "Hello World!", half "50%", var "value", who "fred", base "http://example.com/home/", path "/foo/bar", list
 * ("red","green","blue"), keys (semi ";", dot ".", comma ","), x "1024", y "768", empty "", undef unset.
 */
const EXPANSIONS: Array<[string, string]> = [
  ["{var}", "value"],
  ["{hello}", "Hello%20World%21"],
  ["{half}", "50%25"],
  ["O{empty}X", "OX"],
  ["O{undef}X", "OX"],
  ["{+var}", "value"],
  ["{+hello}", "Hello%20World!"],
  ["{+base}index", "http://example.com/home/index"],
  ["{+path}/here", "/foo/bar/here"],
  ["here?ref={+path}", "here?ref=/foo/bar"],
  ["X{#var}", "X#value"],
  ["X{#hello}", "X#Hello%20World!"],
  ["map?{x,y}", "map?1024,768"],
  ["{x,hello,y}", "1024,Hello%20World%21,768"],
  ["{+x,hello,y}", "1024,Hello%20World!,768"],
  ["{+path,x}/here", "/foo/bar,1024/here"],
  ["{#x,hello,y}", "#1024,Hello%20World!,768"],
  ["{#path,x}/here", "#/foo/bar,1024/here"],
  ["X{.var}", "X.value"],
  ["X{.x,y}", "X.1024.768"],
  ["{/var}", "/value"],
  ["{/var,x}/here", "/value/1024/here"],
  ["{;x,y}", ";x=1024;y=768"],
  ["{;x,y,empty}", ";x=1024;y=768;empty"],
  ["{?x,y}", "?x=1024&y=768"],
  ["{?x,y,empty}", "?x=1024&y=768&empty="],
  ["?fixed=yes{&x}", "?fixed=yes&x=1024"],
  ["{&x,y,empty}", "&x=1024&y=768&empty="],
  ["{var:3}", "val"],
  ["{var:30}", "value"],
  ["{list}", "red,green,blue"],
  ["{list*}", "red,green,blue"],
  ["{keys}", "semi,%3B,dot,.,comma,%2C"],
  ["{keys*}", "semi=%3B,dot=.,comma=%2C"],
  ["{+path:6}/here", "/foo/b/here"],
  ["{+keys*}", "semi=;,dot=.,comma=,"],
  ["{#path:6}/here", "#/foo/b/here"],
  ["{#keys*}", "#semi=;,dot=.,comma=,"],
  ["X{.list*}", "X.red.green.blue"],
  ["X{.keys*}", "X.semi=%3B.dot=..comma=%2C"],
  ["{/var:1,var}", "/v/value"],
  ["{/list*}", "/red/green/blue"],
  ["{/list*,path:4}", "/red/green/blue/%2Ffoo"],
  ["{/keys*}", "/semi=%3B/dot=./comma=%2C"],
  ["{;hello:5}", ";hello=Hello"],
  ["{;list*}", ";list=red;list=green;list=blue"],
  ["{;keys*}", ";semi=%3B;dot=.;comma=%2C"],
  ["{?var:3}", "?var=val"],
  ["{?list}", "?list=red,green,blue"],
  ["{?list*}", "?list=red&list=green&list=blue"],
  ["{?keys*}", "?semi=%3B&dot=.&comma=%2C"],
  ["{&var:3}", "&var=val"],
  ["{&keys*}", "&semi=%3B&dot=.&comma=%2C"],
];

/** Strings no values expand a template to. */
const NOT_EXPANSIONS: Array<[string, string]> = [
  ["https://example.com/books/{id}", "https://example.com/books/1/reviews"],
  ["https://example.com/books/{id}", "https://example.com/authors/1"],
  ["https://example.com/books/{id}", "https://example.com/books/a b"],
  ["https://example.com/books/{id}", "https://example.com/books/50%"],
  ["{var:3}", "valu"],
  ["{var:2}", "%C3%A9%C3%A9%C3%A9"],
  ["{+var}", "a b"],
  ["X{#var}", "Xvalue"],
  ["X{.var}", "X/value"],
  ["{/var,x}/here", "/value/1024/extra/here"],
  ["{?x,y}", "?y=768&x=1024"],
  ["{?x,y}", "?z=1"],
  ["{;x,y}", ";z=1"],
  ["{&x}", "&x"],
  ["https://example.com/users/foo/{?topic}", "https://example.com/users/foo/?topic=https://example.com/books/1"],
];

describe("URI templates", () => {
  test.each(EXPANSIONS)("%s matches its expansion %s", (text, topic) => {
    expect(template(text)(topic)).toBe(true);
  });

  test.each(NOT_EXPANSIONS)("%s does not match %s", (text, topic) => {
    expect(template(text)(topic)).toBe(false);
  });

  test("draft 07's example: an alternate topic carrying the canonical one in a query", () => {
    const grant = template("https://example.com/users/foo/{?topic}");
    expect(grant("https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1")).toBe(true);
    expect(template("{var:2}")("%C3%A9%C3%A9")).toBe(true);
  });

  test("a string without an expression matches only itself, as an exact topic", () => {
    for (const text of ["plain", "https://example.com/books/1", "https://e/}", "a b", "100%"]) {
      expect(compileTemplate(text)).toBeUndefined();
      expect(templateSelector(text)).toEqual({ text, value: text, isPrefix: false });
    }
  });

  test("a string with a `{` that is no valid template is refused: a typo must not silently match nothing", () => {
    for (const text of ["https://e/{id", "https://e/{}", "https://e/{=x}", "https://e/{a b}", "a b{x}", "{x:0}", "{x:10000}"]) {
      expect(() => compileTemplate(text)).toThrow(HeraldError);
      expect(() => templateSelector(text)).toThrow(HeraldError);
    }
  });

  test("a template selector matches the same string too, and reads the log from its literal start", () => {
    const s = templateSelector("https://example.com/books/{id}");
    expect(s.value).toBe("https://example.com/books/");
    expect(selects(s, "https://example.com/books/{id}")).toBe(true);
    expect(selects(s, "https://example.com/books/7")).toBe(true);
    expect(selects(s, "https://example.com/books/7/8")).toBe(false);
  });

  test("a template costlier than the limits is refused", () => {
    const many = Array.from({ length: MAX_TEMPLATE_VARIABLES + 1 }, (_, i) => `{v${i}}`).join("/");
    expect(() => compileTemplate(many)).toThrow(HeraldError);
    expect(() => compileTemplate(`{a:${MAX_TEMPLATE_PREFIXES}}{b:1}`)).toThrow(HeraldError);
    expect(compileTemplate(`{a:${MAX_TEMPLATE_PREFIXES}}`)).toBeDefined();
  });

  test("adjacent variables cost linear time on the longest topic, where a backtracking match would not end", () => {
    const adjacent = template(Array.from({ length: MAX_TEMPLATE_VARIABLES }, (_, i) => `{v${i}}`).join(""));
    const started = performance.now();
    expect(adjacent(`${"a".repeat(2000)}/`)).toBe(false);
    expect(adjacent("a".repeat(2000))).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("URL patterns", () => {
  test("match per the URL Pattern standard, hosts in any case, relative ones against the hub's URL", () => {
    const books = compileUrlPattern("https://example.com/books/:id");
    expect(books("https://example.com/books/1")).toBe(true);
    expect(books("https://EXAMPLE.com/books/1")).toBe(true);
    expect(books("https://example.com/books/1/reviews")).toBe(false);
    expect(books("https://example.com/Books/1")).toBe(false);
    expect(books("not a url at all")).toBe(false);
    const relative = compileUrlPattern("/items/:id");
    expect(relative("/items/3")).toBe(true);
    expect(relative("https://example.com/items/3")).toBe(false);
  });

  test("relative ones resolve against the hub's URL where it is configured (HERALD_MERCURE_AUDIENCE)", () => {
    expect(patternBase(HUB)).toBe(HUB);
    expect(patternBase("")).toBe(patternBase("urn:herald:hub"));
    expect(patternBase("")).not.toBe(HUB);
    const items = compileUrlPattern("/items/:id", patternBase(HUB));
    expect(items("/items/3")).toBe(true);
    expect(items("https://hub.example.com/items/3")).toBe(true);
    expect(items("https://example.com/items/3")).toBe(false);
    expect(compileUrlPattern("https://hub.example.com/items/:id", patternBase(HUB))("/items/3")).toBe(true);
  });

  test.each([
    ["cannot be parsed", "https://["],
    ["a custom regular expression", "https://example.com/books/:id(\\d+)"],
    ["a repeated group", "https://example.com/:path+"],
    ["a repeated group, with *", "https://example.com/{:a}*"],
    ["three wildcards", "https://example.com/*x*y*"],
    ["three named groups in one segment", "https://example.com/:a-:b-:c"],
    ["a wildcard and two named groups of a segment", "https://example.com/*/:a-:b"],
    ["three optional parts", "https://example.com/{a}?{b}?{c}?"],
  ])("refused with invalid_selector: %s", (_, text) => {
    expect(() => compileUrlPattern(text)).toThrow(expect.objectContaining({ code: "invalid_selector" }));
  });

  test("what the limits let through costs milliseconds on the longest topic", () => {
    const patterns = ["https://example.com/*x*", "https://example.com/:a-:b/y", "https://example.com/{x}?*{x}?y"];
    const topic = `https://example.com/${"x-".repeat(1000)}`;
    for (const text of patterns) {
      const test = compileUrlPattern(text);
      const started = performance.now();
      test(topic);
      expect(performance.now() - started).toBeLessThan(500);
    }
    expect(compileUrlPattern("https://example.com/users/:user/books/:id")("https://example.com/users/1/books/2")).toBe(true);
  });
});

const HUB = "https://hub.example.com/.well-known/mercure";
const urlPattern = (text: string) => urlPatternSelector(text, patternBase(""));

describe("grants that hold patterns", () => {
  const books = templateSelector("https://example.com/books/{id}");
  const byPattern = urlPattern("https://example.com/books/:id");
  const exact = (t: string): Selector => ({ text: t, value: t, isPrefix: false });

  test("a pattern grant covers the topics it matches, and the same pattern", () => {
    expect(covers(books, exact("https://example.com/books/1"))).toBe(true);
    expect(covers(books, exact("https://example.com/books/{id}"))).toBe(true);
    expect(covers(books, exact("https://example.com/authors/1"))).toBe(false);
    expect(covers(books, books)).toBe(true);
    expect(covers(books, templateSelector("https://example.com/books/{id}/{page}"))).toBe(false);
    expect(covers(books, parseSelector("books.*"))).toBe(false);
    expect(covers(byPattern, exact("https://example.com/books/1"))).toBe(true);
    expect(covers(byPattern, byPattern)).toBe(true);
    expect(covers(byPattern, urlPattern("https://example.com/books/*"))).toBe(false);
  });

  test("a pattern request is covered by *, the same pattern, or a prefix that starts all it can match", () => {
    const prefix = (p: string): Selector => ({ text: `${p}*`, value: p, isPrefix: true });
    expect(covers(prefix(""), byPattern)).toBe(true);
    expect(covers(prefix("https://example.com/"), books)).toBe(true);
    expect(covers(prefix("https://example.com/authors/"), books)).toBe(false);
    expect(covers(prefix("https://example.com/"), byPattern)).toBe(false);
    expect(covers(exact("https://example.com/books/{id}"), books)).toBe(false);
    expect(covers(exact("https://example.com/books/:id"), byPattern)).toBe(false);
    expect(covers(byPattern, urlPattern("https://example.com/books/:id"))).toBe(true);
    expect(covers(books, urlPattern("https://example.com/books/{id}"))).toBe(false);
  });
});
