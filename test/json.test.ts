/** The JSON tokenizer, shallow parser and canonical form, checked against the engine's JSON.parse on generated texts. */
import { describe, expect, test } from "bun:test";
import { HeraldError } from "../src/errors";
import { canonicalJson } from "../src/json/canonical";
import { parseShallow, RawJson } from "../src/json/shallow";

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = ["", "a", "é", "😀", 'q"uote', "back\\slash", "line\nbreak", "\u2028", "tab\t", "\u0001", "__proto__"];

function value(rand: () => number, depth: number): unknown {
  const pick = rand();
  if (depth > 4 || pick < 0.4) {
    const scalars = [null, true, false, 0, -1.5, 1e21, 2 ** 53 + 2, STRINGS[Math.floor(rand() * STRINGS.length)]];
    return scalars[Math.floor(rand() * scalars.length)];
  }
  const size = Math.floor(rand() * 4);
  if (pick < 0.7) return Array.from({ length: size }, () => value(rand, depth + 1));
  const entries: Array<[string, unknown]> = Array.from({ length: size }, (_, i) => [
    `${STRINGS[Math.floor(rand() * STRINGS.length)]}${i}`,
    value(rand, depth + 1),
  ]);
  return Object.fromEntries(entries);
}

/** JSON.stringify's text with random whitespace between tokens (never inside strings). */
function spaced(text: string, rand: () => number): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const structural = !inString && "{}[]:,".includes(c);
    if (structural && rand() < 0.3) out += [" ", "\n", "\t", "\r\n "][Math.floor(rand() * 4)];
    out += c;
    if (structural && rand() < 0.3) out += " ";
    if (inString && c === "\\") out += text[++i];
    else if (c === '"') inString = !inString;
  }
  return out;
}

/** The reference canonical text, written out recursively (a JS object would put integer-like keys first). */
function sortedKeys(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedKeys).join(",")}]`;
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${sortedKeys(x)}`).join(",")}}`;
}

/** A parse that keeps every container (depth without bound) and no raw member: plain values, as JSON.parse gives. */
const parseAll = (text: string) => parseShallow(text, Number.POSITIVE_INFINITY, "\u0000none");

describe("against JSON.parse on generated texts", () => {
  const rand = random(20261121);
  const samples = Array.from({ length: 400 }, () => JSON.stringify({ data: value(rand, 0) }));

  test("parses to the same values, with any whitespace between tokens", () => {
    for (const text of samples) expect(parseAll(spaced(text, rand))).toEqual(JSON.parse(text));
  });

  test("a raw member's text is the publisher's text without the whitespace between tokens", () => {
    for (const text of samples) {
      const data = (parseShallow(spaced(text, rand), 1, "data") as { data: RawJson }).data;
      expect(data).toBeInstanceOf(RawJson);
      expect(`{"data":${data.text}}`).toBe(text);
    }
  });

  test("the canonical form is the sorted-keys compact form, whatever the key order or spacing", () => {
    for (const text of samples) {
      const reference = sortedKeys(JSON.parse(text));
      expect(canonicalJson(text)).toBe(reference);
      const reordered = JSON.stringify(JSON.parse(text), (_k, v) =>
        v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
      );
      expect(canonicalJson(spaced(reordered, rand))).toBe(reference);
    }
  });

  test("refuses what JSON.parse refuses: single-character edits of the samples", () => {
    let refused = 0;
    for (const text of samples.slice(0, 40)) {
      for (let i = 0; i < text.length; i++) {
        const inserts = ["}", "]", ",", ":", '"', "\\", "0"].map((c) => text.slice(0, i) + c + text.slice(i));
        for (const edit of [text.slice(0, i) + text.slice(i + 1), ...inserts]) {
          let engine = true;
          try {
            JSON.parse(edit);
          } catch {
            engine = false;
          }
          let ours = true;
          try {
            parseAll(edit);
          } catch (error) {
            expect(error).toBeInstanceOf(HeraldError);
            expect((error as HeraldError).code).toBe("invalid_json");
            ours = false;
          }
          if (!engine) refused++;
          expect(ours, edit).toBe(engine);
        }
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });
});

describe("cases by hand", () => {
  test("numbers and escapes are kept as written; nesting costs no stack", () => {
    const data = '{"n":9007199254740993,"e":1E+400,"s":"\\u00e9\\/"}';
    expect((parseShallow(`{"data":${data}}`, 1, "data") as { data: RawJson }).data.text).toBe(data);
    const deep = `${"[".repeat(500_000)}${"]".repeat(500_000)}`;
    expect((parseShallow(`{"data":${deep}}`, 1, "data") as { data: RawJson }).data.text).toBe(deep);
    expect(canonicalJson(`${'{"b":1,"a":'.repeat(50_000)}0${"}".repeat(50_000)}`)).toStartWith('{"a":{"a":');
  });

  test("containers past the depth are kept raw; a __proto__ member stays a member", () => {
    const parsed = parseShallow('{"events":[{"topic":"t","data":1,"x":{"y":[2]}}],"__proto__":{"polluted":true}}', 3, "data");
    expect(parsed).toEqual({
      events: [{ topic: "t", data: new RawJson("1"), x: new RawJson('{"y":[2]}') }],
      ["__proto__"]: { polluted: true },
    });
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect((parsed as { polluted?: boolean }).polluted).toBeUndefined();
  });

  test("canonical strings use JSON.stringify's escaping; numbers stay as written; same-name members keep their order", () => {
    expect(canonicalJson('"\\u0041\\u00e9\\/\\ud83d\\ude00"')).toBe('"Aé/😀"');
    expect(canonicalJson('{"b":1.0,"a":1}')).toBe('{"a":1,"b":1.0}');
    expect(canonicalJson('{"a":2,"a":1}')).toBe('{"a":2,"a":1}');
  });

  test("lone surrogate escapes are refused (I-JSON); pairs are fine", () => {
    expect(() => parseAll('"\\ud800"')).toThrow("lone surrogate");
    expect(() => parseAll('"\\udc00"')).toThrow("lone surrogate");
    expect(() => parseAll('"\\ud800\\u0041"')).toThrow("lone surrogate");
    expect(parseAll('"\\ud83d\\ude00"')).toBe("😀");
  });
});
