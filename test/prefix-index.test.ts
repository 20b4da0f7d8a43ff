/** The broadcaster's prefix index finds what a scan of every prefix finds, and frees what nothing is filed under. */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { PrefixIndex } from "../src/hub/prefix-index";

/** The scan the index replaces: every filed prefix, tested against the topic. */
function scan(filed: ReadonlyMap<string, ReadonlySet<number>>, topic: string): number[] {
  const found: number[] = [];
  for (const [prefix, values] of filed) if (topic.startsWith(prefix)) found.push(...values);
  return found.sort((a, b) => a - b);
}

/** What the index visits for `topic`, in its order (shorter prefixes first). */
function visited<T>(index: PrefixIndex<T>, topic: string): T[] {
  const found: T[] = [];
  index.forEachMatch(topic, (v) => found.push(v));
  return found;
}

const lookup = (index: PrefixIndex<number>, topic: string) => visited(index, topic).sort((a, b) => a - b);

function build(filed: ReadonlyMap<string, ReadonlySet<number>>): PrefixIndex<number> {
  const index = new PrefixIndex<number>();
  for (const [prefix, values] of filed) for (const v of values) index.add(prefix, v);
  return index;
}

// Few characters, so prefixes share starts and contain one another; the emoji are surrogate pairs sharing their
// first unit, so edges also split inside a character, as `startsWith` compares.
const text = (maxLength: number) => fc.string({ unit: fc.constantFrom("a", "b", ".", "é", "😀", "😁"), maxLength });

const scenario = fc.record({
  prefixes: fc.array(text(6), { minLength: 1, maxLength: 8 }),
  ops: fc.array(fc.record({ remove: fc.boolean(), at: fc.nat(), value: fc.nat(3) }), { maxLength: 40 }),
  topics: fc.array(fc.record({ at: fc.nat(), suffix: text(4), free: text(10), pick: fc.boolean() }), { maxLength: 10 }),
});

describe("prefix index", () => {
  test("matches the scan of every prefix, through adds and removes, and keeps only the nodes it needs", () => {
    fc.assert(
      fc.property(scenario, ({ prefixes, ops, topics }) => {
        const index = new PrefixIndex<number>();
        const filed = new Map<string, Set<number>>();
        const check = () => {
          for (const t of topics) {
            const topic = t.pick ? `${prefixes[t.at % prefixes.length]}${t.suffix}` : t.free;
            expect(lookup(index, topic)).toEqual(scan(filed, topic));
          }
          for (const prefix of prefixes) expect(lookup(index, prefix)).toEqual(scan(filed, prefix));
          // The same entries filed afresh give the same tree: removals leave no node behind that adds would not make.
          expect(index.nodeCount()).toBe(build(filed).nodeCount());
          expect(index.nodeCount()).toBeLessThanOrEqual(1 + 2 * filed.size);
        };
        for (const op of ops) {
          const prefix = prefixes[op.at % prefixes.length] as string;
          if (op.remove) {
            index.remove(prefix, op.value);
            filed.get(prefix)?.delete(op.value);
            if (filed.get(prefix)?.size === 0) filed.delete(prefix);
          } else {
            index.add(prefix, op.value);
            filed.set(prefix, (filed.get(prefix) ?? new Set()).add(op.value));
          }
          check();
        }
        for (const [prefix, values] of filed) for (const v of values) index.remove(prefix, v);
        expect(index.nodeCount()).toBe(1);
        expect(lookup(index, prefixes[0] as string)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  test("a prefix may end inside a dot segment, and the empty prefix matches every topic", () => {
    const index = new PrefixIndex<string>();
    index.add("orders.e", "orders.e*");
    index.add("", "*");
    index.add("orders.", "orders.*");
    expect(visited(index, "orders.eu")).toEqual(["*", "orders.*", "orders.e*"]);
    expect(visited(index, "orders.us")).toEqual(["*", "orders.*"]);
    expect(visited(index, "orders")).toEqual(["*"]);
    expect(visited(index, "")).toEqual(["*"]);
  });

  test("a 2048-character topic finds each of its 2049 prefixes, and their removal frees every node", () => {
    const index = new PrefixIndex<number>();
    const long = "x".repeat(2048);
    for (let n = 0; n <= 2048; n++) index.add(long.slice(0, n), n);
    const found = lookup(index, long);
    expect(found.length).toBe(2049);
    expect(index.nodeCount()).toBe(2049);
    for (let n = 0; n <= 2048; n++) index.remove(long.slice(0, n), n);
    expect(index.nodeCount()).toBe(1);
  });
});
