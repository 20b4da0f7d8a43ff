/**
 * The tree's layering, checked file by file: every import in src/ runs to its own room or a lower one, siblings
 * (the two logs) never import each other, and no file reaches itself through its imports.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const SRC = join(import.meta.dir, "..", "src");

/**
 * Lowest first. A room is a file, a folder (ending in `/`) or the files directly in a folder (`/*`) of src/;
 * rooms in one row are siblings. A file may import from its own room, and from any room of a lower row; where
 * rooms overlap, the longest names the file's.
 */
const LAYERS: readonly (readonly string[])[] = [
  ["errors.ts", "timers.ts", "files.ts", "logger.ts", "signals.ts", "net/"],
  ["names.ts", "json/"],
  ["patterns/"],
  ["log/*"],
  ["log/sqlite/", "log/redis/"],
  ["log/open.ts"],
  ["event-json.ts"],
  ["sse/"],
  ["metrics.ts"],
  ["hub/"],
  ["auth/"],
  ["console/"],
  ["http/"],
  ["settings/"],
  ["config.ts"],
  ["startup.ts", "cli/", "parts.ts"],
  ["app.ts"],
  ["workers/"],
  ["boot.ts"],
  ["index.ts"],
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sources(path) : [relative(SRC, path)];
  });
}

function roomOf(file: string): { room: string; row: number } | undefined {
  let best: { room: string; row: number } | undefined;
  LAYERS.forEach((rooms, row) => {
    for (const room of rooms) {
      const fits = room.endsWith("/*")
        ? dirname(file) === room.slice(0, -2)
        : room.endsWith("/")
          ? file.startsWith(room)
          : file === room;
      if (fits && (best === undefined || room.length > best.room.length)) best = { room, row };
    }
  });
  return best;
}

/** The src/ files a TypeScript file imports, statically or not (relative specifiers only; packages and node: are outside). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), "utf8");
  const specifiers = [
    ...text.matchAll(/^(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/gms),
    // The entry point loads the boot sequence with a dynamic import (see index.ts).
    ...text.matchAll(/\bimport\("(\.[^"]+)"\)/g),
  ].map((m) => m[1] as string);
  return specifiers
    .map((s) => normalize(join(dirname(file), s)))
    .filter((target) => !target.startsWith(".."))
    .map((target) => (/\.[a-z]+$/.test(target) ? target : `${target}.ts`));
}

const files = sources(SRC).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe("layers", () => {
  test("every file of src/ has a room", () => {
    expect(files.filter((f) => roomOf(f) === undefined)).toEqual([]);
  });

  test("every import runs to the same room or a lower row, never to a sibling", () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      const from = roomOf(file);
      for (const target of targets) {
        const to = roomOf(target);
        if (!from || !to || to.room === from.room || to.row < from.row) continue;
        wrong.push(`${file} → ${target} (${from.room} → ${to.room})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test("no circle of imports", () => {
    const circles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        circles.push([...path.slice(path.indexOf(file)), file].join(" → "));
        return;
      }
      state.set(file, "open");
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, "done");
    };
    for (const file of files) visit(file, []);
    expect(circles).toEqual([]);
  });

  test("the check sees the imports it judges", () => {
    // A regular expression that stopped matching would pass every rule above while checking nothing.
    expect(graph.get("index.ts")).toEqual(["signals.ts", "boot.ts"]);
    expect(graph.get("boot.ts")).toContain("app.ts");
    expect(graph.get("log/sqlite/sqlite-log.ts")).toContain("log/event-log.ts");
    expect(roomOf("log/redis/redis-log.ts")?.room).toBe("log/redis/");
  });
});
