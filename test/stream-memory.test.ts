/**
 * What an open stream keeps in memory: its subscription, never the request that opened it. A closure made in a
 * route handler keeps the handler's whole scope (the request, its headers, its query) for as long as it lives; one
 * kept by the stream kept a Request and its Headers per idle stream. Nor a presence id before anyone lists it.
 * Counted by type on the hub's heap, after a full collection, so the figure does not depend on timing.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { Socket } from "bun";
import { dispose, type Herald, startHerald } from "./support/herald";
import { eventually } from "./support/wait";

const STREAMS = 150;
const REQUEST_TYPES = ["Request", "BunRequest", "Headers"];
let herald: Herald;

beforeAll(async () => {
  herald = await startHerald({
    command: [process.execPath, join(import.meta.dir, "support", "heap-hub.ts")],
    // One thread: worker threads have heaps of their own.
    env: { HERALD_WORKERS: "1" },
  });
});
afterAll(() => dispose(herald));

async function heapCounts(): Promise<Record<string, number>> {
  const seen = herald.lines.length;
  herald.proc.kill("SIGUSR2");
  let line: string | undefined;
  await eventually(() => {
    line = herald.lines.slice(seen).find((l) => l.startsWith('{"heap":'));
    return line !== undefined;
  });
  return (JSON.parse(line as string) as { heap: Record<string, number> }).heap;
}

/** Opens a stream over a raw socket and resolves once its first bytes came: it is registered by then. */
function openStream(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    void Bun.connect({
      hostname: "127.0.0.1",
      port: herald.port,
      socket: {
        open: (socket) => void socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`),
        data: (socket) => resolve(socket),
        error: (_, error) => reject(error),
      },
    }).catch(reject);
  });
}

test.each([
  ["/stream", "/stream?topic=memory"],
  ["/.well-known/mercure", "/.well-known/mercure?topic=memory"],
])(`${STREAMS} idle streams on %s hold no Request, Headers, promise of their end or closure each`, async (_, path) => {
  // The route is compiled on its first request: that is not what is counted.
  (await openStream(path)).end();
  const before = await heapCounts();
  const sockets: Socket[] = [];
  for (let i = 0; i < STREAMS; i++) sockets.push(await openStream(path));
  try {
    const after = await heapCounts();
    // Each stream would add one of each; a few come and go with whatever else the hub is doing.
    for (const type of REQUEST_TYPES) expect((after[type] ?? 0) - (before[type] ?? 0)).toBeLessThan(STREAMS / 10);
    // Two are Bun's and the response's own; the promise of a stream's end is made only when something waits for it.
    expect((after.Promise ?? 0) - (before.Promise ?? 0)).toBeLessThan(STREAMS * 2.5);
    // The two functions that settle the response, and no closure of the stream's own (there were six, with three
    // scopes kept alive by them: some 240 bytes a stream).
    expect((after.Function ?? 0) - (before.Function ?? 0)).toBeLessThan(STREAMS * 2.5);
    expect((after.JSLexicalEnvironment ?? 0) - (before.JSLexicalEnvironment ?? 0)).toBeLessThan(STREAMS * 1.5);
  } finally {
    for (const socket of sockets) socket.end();
  }
});

test(`${STREAMS} idle streams make no presence entry of their own, nor an id until a listing asks for one`, async () => {
  // The route is compiled on its first request: that is not what is counted.
  await (await fetch(`${herald.url}/subscriptions?topic=presence.other`)).json();
  const before = await heapCounts();
  const sockets: Socket[] = [];
  for (let i = 0; i < STREAMS; i++) sockets.push(await openStream("/stream?topic=presence.memory"));
  try {
    const open = await heapCounts();
    const listing = await fetch(`${herald.url}/subscriptions?topic=presence.memory&limit=1`);
    expect(((await listing.json()) as { count: number }).count).toBe(STREAMS);
    const listed = await heapCounts();
    const strings = (counts: Record<string, number>) => counts.string ?? 0;
    // A page in id order makes every entry's id, and each is kept from then on: one string per stream.
    expect(strings(listed) - strings(open)).toBeGreaterThan(STREAMS * 0.9);
    expect(strings(open) - strings(before)).toBeLessThan(STREAMS * 1.5);
    // Nor an entry of its own: the stream is its entry. Three are the stream's own (its selector among them).
    expect((open.Object ?? 0) - (before.Object ?? 0)).toBeLessThan(STREAMS * 3.5);
  } finally {
    for (const socket of sockets) socket.end();
  }
});
