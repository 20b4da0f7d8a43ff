/**
 * The property: any run of generated requests against a real hub gets exactly the answers the spec allows,
 * accepted events read back identical through /events and /stream, and nothing refused appends.
 * One hub serves every run; the model follows it across runs (and is rebuilt from the hub after a failure).
 */
import fc from "fast-check";
import { FUZZ_MAX_EVENT_BYTES } from "./fuzz-bodies";
import { exchange, expectEqual } from "./fuzz-check";
import { type RequestSpec, run as runArbitrary, type Step } from "./fuzz-gen";
import { dispose, type Herald, startHerald } from "./herald";
import { type Json, obj, parse, render } from "./json-text";
import { LogModel } from "./model";
import { judge, type WireRequest } from "./oracle";
import { SseReader } from "./sse";

export interface FuzzOptions {
  readonly seed: number;
  readonly runs: number;
  /** Stop generating new runs after this long (a failure found by then is still shrunk and reported). */
  readonly timeLimitMs?: number;
  /** fast-check's replay path, printed with a failure. */
  readonly path?: string;
  readonly log?: (line: string) => void;
}

export interface FuzzReport {
  readonly runs: number;
  readonly requests: number;
  readonly statuses: Record<string, number>;
  readonly events: number;
  readonly ms: number;
}

function reversed(j: Json): Json {
  if (j.t === "arr") return { t: "arr", items: j.items.map(reversed) };
  if (j.t === "obj") return obj([...j.entries].reverse().map(([k, v]) => [k, reversed(v)] as const));
  return j;
}

function bodyBytes(spec: RequestSpec): Uint8Array | undefined {
  const b = spec.body;
  if (b.kind === "none" || spec.method === "GET" || spec.method === "HEAD") return undefined;
  if (b.kind === "bytes") return Uint8Array.from(b.bytes);
  const text = Buffer.from(render(b.value, b.pad));
  if (!b.inject) return text;
  const at = Math.floor(b.inject.at * text.length);
  return Buffer.concat([text.subarray(0, at), Uint8Array.from(b.inject.bytes), text.subarray(at)]);
}

/** The request as it goes on the wire: the URL and headers fetch will send, which the oracle judges. */
function wire(base: string, spec: RequestSpec, nonce: string): WireRequest {
  const url = new URL(`${base}${spec.path}${spec.query === "" ? "" : `?${spec.query}`}`);
  const headers = new Headers();
  for (const [k, v] of Object.entries(spec.headers)) headers.set(k, v.replaceAll("{nonce}", nonce));
  return {
    method: spec.method,
    path: url.pathname,
    query: url.search.slice(1),
    headers: Object.fromEntries(headers),
    body: bodyBytes(spec),
  };
}

/** Resolves `again` steps to the earlier JSON request they resend, with new whitespace and key order. */
function resolve(steps: readonly Step[]): RequestSpec[] {
  const out: RequestSpec[] = [];
  for (const step of steps) {
    if ("send" in step) {
      out.push(step.send);
      continue;
    }
    const earlier = out.filter((s) => s.body.kind === "json");
    const prior = earlier[step.again % Math.max(1, earlier.length)];
    if (prior?.body.kind !== "json") continue;
    const value = step.reverse ? reversed(prior.body.value) : prior.body.value;
    out.push({ ...prior, body: { ...prior.body, value, pad: step.pad } });
  }
  return out;
}

/** Everything after `after` must be in the log exactly as the model has it, through /events and both stream forms. */
async function verifyLog(h: Herald, model: LogModel, after: number): Promise<void> {
  const expected = model.matching(["*"], after);
  const got: Json[] = [];
  for (let cursor = String(after); ; ) {
    const page = parse(await (await fetch(`${h.url}/events?topic=*&after=${cursor}&limit=1000`)).text());
    const events = page.t === "obj" ? page.entries.find(([k]) => k === "events")?.[1] : undefined;
    const next = page.t === "obj" ? page.entries.find(([k]) => k === "next")?.[1] : undefined;
    if (events?.t === "arr") got.push(...events.items);
    if (next?.t !== "str") break;
    cursor = next.v;
  }
  await exchange(
    h.url,
    request(`/events`, `topic=*&after=${after}&limit=1000`),
    [{ kind: "history", selectors: ["*"], after: BigInt(after), limit: 1000 }],
    model,
  );
  if (got.length !== expected.length)
    throw new Error(`the log holds ${got.length} events after ${after}, the model ${expected.length}`);
  if (expected.length === 0) return;
  for (const envelope of [false, true]) {
    const req = request("/stream", `topic=*&envelope=${envelope}`, { "last-event-id": String(after) });
    await exchange(h.url, req, [{ kind: "stream", selectors: ["*"], resume: BigInt(after), envelope }], model);
  }
  await exchange(h.url, request("/topics", ""), [{ kind: "topics" }], model);
  const health = (await (await fetch(`${h.url}/health`)).json()) as { lastEventId: string };
  expectEqual("health lastEventId", health.lastEventId, String(model.lastId));
}

function request(path: string, query: string, headers: Record<string, string> = {}): WireRequest {
  return { method: "GET", path, query, headers };
}

/** After a failed run the model may be behind the hub: take the hub's log as the starting point. */
async function resync(h: Herald): Promise<LogModel> {
  const model = new LogModel();
  const reader = await SseReader.open(`${h.url}/stream?topic=*&envelope=true`, { "last-event-id": "0" });
  const { lastEventId } = (await (await fetch(`${h.url}/health`)).json()) as { lastEventId: string };
  await reader.until((r) => r.events.length > 0 && r.events[r.events.length - 1]?.id === lastEventId, 10_000).catch(() => {});
  reader.close();
  for (const e of reader.events) {
    const j = JSON.parse(e.data) as { id: string; topic: string; event: string | null; time: string };
    const data = parse(e.data);
    const d = data.t === "obj" ? data.entries.find(([k]) => k === "data")?.[1] : undefined;
    model.record([{ topic: j.topic, event: j.event, data: d ?? { t: "lit", v: null } }], [j], undefined, {});
  }
  return model;
}

/** Runs a fuzz property with the options' seed, runs, path and time limit, after a line saying how to replay it. */
export async function assertProperty<T>(
  target: "native" | "mercure",
  property: fc.IAsyncPropertyWithHooks<[T]>,
  options: FuzzOptions,
  log: (line: string) => void,
): Promise<void> {
  const path = options.path ? ` path=${options.path}` : "";
  const replay = `bun run fuzz -- --target ${target} --seed ${options.seed} --runs ${options.runs}`;
  log(`${target === "native" ? "fuzz" : "mercure fuzz"}: seed=${options.seed} runs=${options.runs}${path} (replay: ${replay})`);
  await fc.assert(property, {
    seed: options.seed,
    numRuns: options.runs,
    path: options.path,
    includeErrorInReport: true,
    plugins: options.timeLimitMs === undefined ? [] : [fc.interruptAfterTimeLimit(options.timeLimitMs)],
  } as fc.Parameters<[T]>);
}

export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const h = await startHerald({ env: { HERALD_MAX_EVENT_BYTES: String(FUZZ_MAX_EVENT_BYTES), HERALD_SYNC: "normal" } });
  let model = new LogModel();
  let stale = false;
  let runs = 0;
  let requests = 0;
  const statuses: Record<string, number> = {};
  const config = { maxEventBytes: FUZZ_MAX_EVENT_BYTES };
  const property = fc.asyncProperty(runArbitrary, async (steps) => {
    if (stale) model = await resync(h);
    stale = true;
    runs++;
    const nonce = `${runs}.${Date.now()}`;
    const from = model.lastId;
    for (const spec of resolve(steps)) {
      const req = wire(h.url, spec, nonce);
      const outcomes = judge(req, config);
      await exchange(h.url, req, outcomes, model);
      requests++;
      const key = outcomes.map((o) => (o.kind === "error" ? `${o.status}` : o.kind)).join("|");
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
    if (h.proc.exitCode !== null) throw new Error(`the hub exited with ${h.proc.exitCode}`);
    await verifyLog(h, model, from);
    stale = false;
  });
  try {
    await assertProperty("native", property, options, log);
  } finally {
    await dispose(h);
  }
  return { runs, requests, statuses, events: model.events.length, ms: Date.now() - started };
}
