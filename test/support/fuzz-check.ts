/** Checks one real answer against the oracle's verdict and the log model; a mismatch throws, saying what and why. */
import { isJsonText, type Json, member, parse, same } from "./json-text";
import type { LogModel, ModelEvent } from "./model";
import type { Outcome, WireRequest } from "./oracle";
import { type SseEvent, SseReader } from "./sse";

export class Mismatch extends Error {}

function fail(message: string, detail: unknown): never {
  throw new Mismatch(`${message}: ${JSON.stringify(detail, (_, v) => (typeof v === "bigint" ? String(v) : v)).slice(0, 2000)}`);
}

const HTTP_NEEDS_NO_BODY = (req: WireRequest) => req.method === "HEAD";

/** Sends the request and checks the answer; stream answers are read only as far as the verdict needs. */
export async function exchange(base: string, req: WireRequest, outcomes: readonly Outcome[], model: LogModel): Promise<void> {
  const url = `${base}${req.path}${req.query === "" ? "" : `?${req.query}`}`;
  const stream = outcomes.find((o) => o.kind === "stream");
  if (stream && req.method === "GET") {
    const reader = await SseReader.open(url, req.headers);
    try {
      if (reader.response.status === 200) return await checkStream(reader, stream, model);
      return checkError(req, reader.response, await reader.response.text(), outcomes);
    } finally {
      reader.close();
    }
  }
  const res = await fetch(url, { method: req.method, headers: req.headers, body: req.body, signal: AbortSignal.timeout(10_000) });
  // A stream the oracle did not expect is a finding, not something to wait on forever.
  const streaming = res.headers.get("content-type")?.startsWith("text/event-stream") && req.method !== "HEAD";
  if (streaming) await res.body?.cancel();
  const text = streaming ? `(a stream: ${res.status})` : await res.text();
  const success = outcomes.find((o) => o.kind !== "error");
  const refusal = outcomes.some((o) => o.kind === "error" && o.status === res.status);
  if (refusal || !success) return checkError(req, res, text, outcomes);
  if (HTTP_NEEDS_NO_BODY(req)) return;
  switch (success.kind) {
    case "publish":
      return checkPublish(res.status, text, success, model);
    case "history":
      return checkHistory(res.status, text, success, model);
    case "topics":
      return expectEqual("topics", withoutSubscribers(JSON.parse(text)), model.topics());
    case "page":
      if (res.status !== 200 || !(res.headers.get("content-type") ?? "").startsWith(success.contentType)) {
        fail("page", { status: res.status, type: res.headers.get("content-type") });
      }
      return;
    case "stream":
      if (res.status !== 200) fail("stream status", res.status);
      return;
  }
}

function checkError(req: WireRequest, res: Response, text: string, outcomes: readonly Outcome[]): void {
  const allowed = outcomes.flatMap((o) => (o.kind === "error" ? [o] : []));
  const matching = allowed.filter((o) => o.status === res.status);
  if (matching.length === 0) fail(`status ${res.status} is not among the allowed`, { outcomes, body: text.slice(0, 300) });
  if (HTTP_NEEDS_NO_BODY(req)) return;
  if (!(res.headers.get("content-type") ?? "").startsWith("application/json"))
    fail("error not JSON", res.headers.get("content-type"));
  const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
  const code = body.error?.code;
  if (!matching.some((o) => o.codes.includes(code as string)))
    fail(`code ${String(code)} for ${res.status}`, { allowed: matching, body });
  if (typeof body.error?.message !== "string" || /\n\s+at /.test(body.error.message)) fail("error message", body);
  if (res.status === 503 && !res.headers.has("retry-after")) fail("503 without Retry-After", body);
}

type PublishOutcome = Extract<Outcome, { kind: "publish" }>;

function checkPublish(status: number, text: string, outcome: PublishOutcome, model: LogModel): void {
  const expected = model.expectPublish(outcome.key);
  if (status !== expected.status) fail(`publish answered ${status}, expected ${expected.status}`, { text, outcome });
  const answer = JSON.parse(text) as Record<string, unknown>;
  if (expected.status !== 201) {
    const want = expected.status === 422 ? { error: { code: expected.code } } : expected.original;
    const got = expected.status === 422 ? { error: { code: (answer.error as { code?: string })?.code } } : answer;
    expectEqual(`answer ${expected.status}`, got, want);
    return;
  }
  const receipts = (outcome.batch ? answer.events : [answer]) as Array<{
    id: string;
    topic: string;
    event: string | null;
    time: string;
  }>;
  if (!Array.isArray(receipts) || receipts.length !== outcome.drafts.length) fail("receipts", answer);
  let last = model.lastId;
  receipts.forEach((r, i) => {
    const d = outcome.drafts[i];
    if (!/^\d+$/.test(r.id) || Number(r.id) <= last) fail(`id ${r.id} does not follow ${last}`, answer);
    if (r.topic !== d?.topic || r.event !== d.event) fail("receipt topic or event", { r, d });
    if (new Date(r.time).toISOString() !== r.time) fail("receipt time", r);
    last = Number(r.id);
  });
  model.record(outcome.drafts, receipts, outcome.key, answer);
}

type HistoryOutcome = Extract<Outcome, { kind: "history" }>;

function checkHistory(status: number, text: string, o: HistoryOutcome, model: LogModel): void {
  if (status !== 200) fail(`history answered ${status}`, text);
  const page = parse(text);
  const expected = model.history(o.selectors, o.after, o.limit);
  const events = member(page, "events");
  if (events?.t !== "arr") fail("history body", text.slice(0, 300));
  if (events.items.length !== expected.events.length) {
    fail(`history has ${events.items.length} events, expected ${expected.events.length}`, { o, text: text.slice(0, 500) });
  }
  for (const [i, item] of events.items.entries()) checkRecord(item, expected.events[i] as ModelEvent);
  const next = member(page, "next");
  const nextText = next?.t === "str" ? next.v : null;
  if (nextText !== expected.next) fail(`next ${nextText}, expected ${expected.next}`, o);
}

/** An event as JSON (`/events` item, or the data of an envelope): every field, data as written. */
function checkRecord(item: Json, e: ModelEvent): void {
  const field = (k: string) => member(item, k);
  const text = (k: string) => {
    const v = field(k);
    return v?.t === "str" ? v.v : v?.t === "lit" ? v.v : undefined;
  };
  if (text("id") !== String(e.id) || text("topic") !== e.topic || text("event") !== e.event || text("time") !== e.time) {
    fail("event fields", {
      got: { id: text("id"), topic: text("topic"), event: text("event"), time: text("time") },
      expected: e,
    });
  }
  const data = field("data");
  if (!data || !same(data, e.data)) fail(`data of event ${e.id} not kept as written`, { expected: e.data, got: data });
}

type StreamOutcome = Extract<Outcome, { kind: "stream" }>;

async function checkStream(reader: SseReader, o: StreamOutcome, model: LogModel): Promise<void> {
  const h = reader.response.headers;
  if (
    !h.get("content-type")?.startsWith("text/event-stream") ||
    h.get("cache-control") !== "no-cache" ||
    h.get("x-accel-buffering") !== "no"
  ) {
    fail("stream headers", Object.fromEntries(h));
  }
  const beyond = o.resume !== null && o.resume > BigInt(model.lastId);
  const expected = o.resume === null || beyond ? [] : model.matching(o.selectors, Number(o.resume));
  const notices = beyond ? 1 : 0;
  await reader
    .until((r) => r.retry !== undefined && r.events.length >= expected.length + notices, 10_000)
    .catch((error) => {
      fail(`stream: ${String(error)}`, { o, expected: expected.length, raw: reader.raw.slice(0, 500) });
    });
  if (reader.retry !== 2000) fail("retry field", reader.raw.slice(0, 100));
  const got = reader.events.slice(notices);
  if (beyond) {
    const gap = reader.events[0];
    const want = JSON.stringify({ lastEventId: String(o.resume), prunedThrough: null });
    if (gap?.event !== "herald.gap" || gap.id !== undefined || gap.data !== want) fail("gap notice", { gap, want });
  }
  if (got.length > expected.length) fail("stream sent more than the log holds", { o, extra: got.slice(expected.length) });
  for (const [i, e] of got.entries()) checkFrame(e, expected[i] as ModelEvent, o.envelope);
}

/** One SSE event: its id and type lines, and its data (lines of a string, compact JSON, or the envelope). */
export function checkFrame(e: SseEvent, m: ModelEvent, envelope: boolean): void {
  if (e.id !== String(m.id) || (e.event ?? null) !== m.event) fail("frame id or type", { e, m });
  if (envelope) {
    if (!isJsonText(e.data)) fail("envelope is not JSON", e);
    checkRecord(parse(e.data), m);
    return;
  }
  if (m.data.t === "str") {
    if (e.data !== m.data.v.split(/\r\n|\r|\n/).join("\n")) fail(`string data of ${m.id}`, { e, m });
    return;
  }
  if (!isJsonText(e.data) || !same(parse(e.data), m.data))
    fail(`JSON data of ${m.id} not kept as written`, { got: e.data, expected: m.data });
}

/**
 * A /topics page without its `subscribers` counts, once each is seen to be a count: a stream the run just closed
 * may still be counted for a moment, so the model does not predict them.
 */
function withoutSubscribers(page: { topics: Array<Record<string, unknown>> }): unknown {
  const topics = page.topics.map(({ subscribers, ...rest }) => {
    if (!Number.isInteger(subscribers) || (subscribers as number) < 0) fail("subscribers", rest);
    return rest;
  });
  return { ...page, topics };
}

export function expectEqual(what: string, got: unknown, expected: unknown): void {
  if (JSON.stringify(got) !== JSON.stringify(expected)) fail(what, { got, expected });
}
