/** The baseline: the simplest bare-Bun SSE hub, one socket write per event per stream, to measure Herald against. */
import { Database } from "bun:sqlite";

/** `memory` appends to an array; `sqlite` does one INSERT (its own commit) per publish. */
const store = process.env.BASELINE_STORE === "sqlite" ? "sqlite" : "memory";
const encoder = new TextEncoder();
const SSE_HEADERS = { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" };

const log: string[] = [];
let insert: ((topic: string, data: string, time: number) => number) | undefined;
if (store === "sqlite") {
  const db = new Database(process.env.BASELINE_DB ?? ":memory:", { create: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run(`PRAGMA synchronous = ${process.env.BASELINE_SYNC === "normal" ? "NORMAL" : "FULL"}`);
  db.run("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT, data TEXT, time INTEGER)");
  const q = db.query<{ id: number }, [string, string, number]>(
    "INSERT INTO events (topic, data, time) VALUES (?, ?, ?) RETURNING id",
  );
  insert = (topic, data, time) => (q.get(topic, data, time) as { id: number }).id;
}

type Sink = ReadableStreamDirectController;
const subscribers = new Map<string, Set<Sink>>();
let nextId = 1;

function publish(topic: string, data: string): Response {
  const time = Date.now();
  let id: number;
  if (insert) id = insert(topic, data, time);
  else {
    id = nextId++;
    log.push(data);
  }
  const frame = encoder.encode(`id: ${id}\ndata: ${data}\n\n`);
  for (const sink of subscribers.get(topic) ?? []) {
    sink.write(frame);
    sink.flush();
  }
  return Response.json({ id: String(id), topic, event: null, time: new Date(time).toISOString() }, { status: 201 });
}

function stream(topic: string, signal: AbortSignal): Response {
  const body = new ReadableStream({
    type: "direct",
    pull(sink) {
      sink.write("retry: 2000\n: baseline\n\n");
      sink.flush();
      const set = subscribers.get(topic) ?? new Set<Sink>();
      subscribers.set(topic, set.add(sink));
      // The promise keeps the response open until the client goes away.
      return new Promise<void>((resolve) => {
        signal.addEventListener("abort", () => {
          set.delete(sink);
          resolve();
        });
      });
    },
  });
  return new Response(body, { headers: SSE_HEADERS });
}

const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: process.env.HOST ?? "127.0.0.1",
  reusePort: false,
  async fetch(req, srv) {
    const url = new URL(req.url);
    const path = url.pathname;
    if (req.method === "POST" && path.startsWith("/topics/") && path.endsWith("/events")) {
      const body = (await req.json()) as { data?: unknown };
      return publish(decodeURIComponent(path.slice(8, -7)), JSON.stringify(body.data ?? null));
    }
    if (req.method === "GET" && path === "/stream") {
      srv.timeout(req, 0);
      return stream(url.searchParams.get("topic") ?? "", req.signal);
    }
    if (path === "/health") {
      let n = 0;
      for (const set of subscribers.values()) n += set.size;
      return Response.json({ status: "ok", subscribers: n, events: insert ? nextId - 1 : log.length });
    }
    return new Response("not found", { status: 404 });
  },
});

console.log(JSON.stringify({ msg: "baseline started", store, url: `http://127.0.0.1:${server.port}` }));
