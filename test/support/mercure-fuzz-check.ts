/**
 * Checks one real answer of the Mercure endpoint against the oracle's verdict and the model: refusals (status,
 * JSON code, challenge), publishes (the id answered, the event read back with exactly the given fields) and
 * subscriptions (resume headers, and a replay that holds exactly the events the matchers and the token allow).
 */
import { Mismatch } from "./fuzz-check";
import type { NativeSpec } from "./mercure-fuzz-gen";
import { grantsAny } from "./mercure-fuzz-grants";
import { type IdempotencyKey, type LoggedUpdate, MercureModel, type Shown, type Update } from "./mercure-fuzz-model";
import type { Challenge, MercureOutcome, Subscription } from "./mercure-fuzz-oracle";
import { any, both, matchesTopic, type Tri } from "./mercure-fuzz-topics";
import { tokenInUrl } from "./mercure-fuzz-wire";
import type { WireRequest } from "./oracle";

export function fail(message: string, detail: unknown): never {
  throw new Mismatch(`${message}: ${JSON.stringify(detail).slice(0, 3000)}`);
}

/** Everything a check needs besides the request: the hub, the model, and a way to publish a fence. */
export interface Context {
  readonly base: string;
  readonly hubUrl: URL;
  readonly model: MercureModel;
  /** Headers that carry the driver's own token, which may do everything. */
  readonly master: Record<string, string>;
  /** Publishes an update on the fence topic, records it, and returns it. */
  readonly fence: () => Promise<LoggedUpdate>;
}

/** No answer within this is a finding, not something to wait on forever. */
export const ANSWER_MS = 10_000;

export function urlOf(base: string, req: WireRequest): string {
  return `${base}${req.path}${req.query === "" ? "" : `?${req.query}`}`;
}

export function checkError(res: Response, text: string, outcomes: readonly MercureOutcome[]): void {
  const errors = outcomes.flatMap((o) => (o.kind === "error" && o.status === res.status ? [o] : []));
  if (errors.length === 0) fail(`status ${res.status} is not among the allowed`, { outcomes, body: text.slice(0, 300) });
  if (!(res.headers.get("content-type") ?? "").startsWith("application/json")) fail("error not JSON", text.slice(0, 300));
  const body = JSON.parse(text) as { error?: { code?: string; message?: unknown } };
  const challenge = res.headers.get("www-authenticate");
  // The challenge's `error` attribute, if it is a Bearer challenge at all.
  const error = challenge?.startsWith("Bearer") ? (/\berror="([^"]*)"/.exec(challenge)?.[1] ?? null) : undefined;
  const fits = errors.filter(
    (o) => o.codes.includes(body.error?.code ?? "") && (!o.challenge || o.challenge.includes(error as Challenge)),
  );
  if (fits.length === 0) fail(`answer ${res.status} ${body.error?.code} with challenge ${challenge}`, { allowed: errors, body });
  if (typeof body.error?.message !== "string" || /\n\s+at /.test(body.error.message)) fail("error message", body);
}

/** Reads back the events after `after` as /events shows them to a reader of everything. */
export async function readBack(ctx: Context, after: number, limit: number): Promise<Shown[]> {
  const res = await fetch(`${ctx.base}/events?topic=*&after=${after}&limit=${limit}`, {
    headers: ctx.master,
    signal: AbortSignal.timeout(ANSWER_MS),
  });
  if (res.status !== 200) fail("reading the log back", { status: res.status, body: await res.text() });
  return ((await res.json()) as { events: Shown[] }).events;
}

/** Records the one event a publish appended, checking it reads back with exactly the fields it was given. */
export async function appended(ctx: Context, answer: string, update: Update, key?: IdempotencyKey): Promise<LoggedUpdate> {
  const events = await readBack(ctx, ctx.model.lastId, 10);
  const [e] = events;
  if (events.length !== 1 || e === undefined) fail(`a publish appended ${events.length} events`, events);
  if (typeof e.time !== "string" || new Date(e.time).toISOString() !== e.time) fail("event time", e);
  const logged = ctx.model.record(update, Number(e.id), e.time, key, answer);
  const expected = MercureModel.shown(logged);
  if (JSON.stringify(e) !== JSON.stringify(expected)) fail("the event read back", { got: e, expected });
  if (answer !== MercureModel.mercureId(logged)) fail("the id answered", { answer, logged });
  return logged;
}

/** Sends a publish and checks its answer; resolves with the status. */
export async function checkPublish(ctx: Context, req: WireRequest, outcomes: readonly MercureOutcome[]): Promise<number> {
  const res = await fetch(urlOf(ctx.base, req), {
    method: req.method,
    headers: req.headers,
    body: req.body,
    signal: AbortSignal.timeout(ANSWER_MS),
  });
  const text = await res.text();
  await judgePublish(ctx, req, res, text, outcomes);
  return res.status;
}

async function judgePublish(
  ctx: Context,
  req: WireRequest,
  res: Response,
  text: string,
  outcomes: readonly MercureOutcome[],
): Promise<void> {
  const success = outcomes.find((o) => o.kind === "publish");
  const refused = outcomes.some((o) => o.kind === "error" && o.status === res.status);
  if (success?.kind !== "publish" || (refused && res.status !== 200)) return checkError(res, text, outcomes);
  const expected = ctx.model.expectPublish(success.key);
  if (expected.status === 422) {
    if (res.status !== 422) fail(`a key reused for another update answered ${res.status}`, { text, success });
    return checkError(res, text, [{ kind: "error", status: 422, codes: ["idempotency_conflict"] }]);
  }
  if (res.status !== 200) fail(`publish answered ${res.status}, expected 200`, { text, success });
  if (!/^text\/plain;\s*charset=utf-8$/i.test(res.headers.get("content-type") ?? ""))
    fail("publish content type", res.headers.get("content-type"));
  // Draft 07: an answer to a token in the URL is `Cache-Control: private`.
  if (tokenInUrl(req) && !/\bprivate\b/.test(res.headers.get("cache-control") ?? ""))
    fail("publish cache control", res.headers.get("cache-control"));
  if (!expected.fresh) {
    if (text !== expected.answer) fail("a repeat with the same key answered another id", { text, expected });
    if ((await readBack(ctx, ctx.model.lastId, 1)).length !== 0) fail("a repeat with the same key appended", success);
    return;
  }
  await appended(ctx, text, success.update, success.key);
}

/** Publishes a native event with the driver's token: 201 and its receipt, then it reads back as sent. */
export async function publishNative(ctx: Context, spec: NativeSpec): Promise<number> {
  const body = JSON.stringify(spec.event === null ? { data: spec.data } : { data: spec.data, event: spec.event });
  const res = await fetch(`${ctx.base}/topics/${spec.topic}/events`, {
    method: "POST",
    body,
    headers: { ...ctx.master, "content-type": "application/json" },
    signal: AbortSignal.timeout(ANSWER_MS),
  });
  const receipt = (await res.json()) as { id?: string; topic?: string; event?: string | null };
  if (res.status !== 201 || receipt.topic !== spec.topic || receipt.event !== spec.event)
    fail("a native publish", { status: res.status, receipt });
  const update: Update = {
    topics: [spec.topic],
    private: false,
    type: spec.event,
    data: JSON.stringify(spec.data),
    native: true,
  };
  const logged = await appended(ctx, `urn:herald:${receipt.id}`, update);
  if (String(logged.id) !== receipt.id) fail("a native publish's id", { receipt, logged });
  return res.status;
}

export interface Frame {
  readonly id?: string;
  readonly event?: string;
  readonly retry?: number;
  readonly data: string;
}

/** The events of a Mercure stream's text, each with its own `retry` (the test client of sse.ts keeps only the last). */
export function frames(raw: string): Frame[] {
  const out: Frame[] = [];
  for (const block of raw.split("\n\n")) {
    const f: { id?: string; event?: string; retry?: number; data: string[] } = { data: [] };
    for (const line of block.split("\n")) {
      if (line.startsWith("id: ")) f.id = line.slice(4);
      else if (line.startsWith("event: ")) f.event = line.slice(7);
      else if (line.startsWith("retry: ")) f.retry = Number(line.slice(7));
      else if (line.startsWith("data: ")) f.data.push(line.slice(6));
    }
    if (f.data.length > 0) out.push({ ...f, data: f.data.join("\n") });
  }
  return out;
}

/** The frame an event must be sent as (draft 08: data split on CR, LF and CRLF into `data:` lines). */
function sameFrame(f: Frame, e: LoggedUpdate): boolean {
  return (
    f.id === MercureModel.mercureId(e) &&
    f.event === (e.type ?? undefined) &&
    f.retry === e.retry &&
    f.data === (e.native ? e.data : e.data.split(/\r\n|\r|\n/).join("\n"))
  );
}

/** Whether a subscription must, may or must not deliver `e`: it matches, and it is readable (a private one only with a grant). */
export function deliver(sub: Subscription, e: LoggedUpdate, hubUrl: URL): Tri {
  const matches = any(sub.matchers.flatMap((m) => e.topics.map((t) => matchesTopic(m, t, hubUrl))));
  if (e.private) return both(matches, grantsAny(sub.grants, e.topics, hubUrl));
  // A matcher the hub let the reader have gives every event it matches; past that, a topic the reader may read.
  const byCovered = sub.matchers.some(
    (m, i) => sub.covered[i] === "yes" && e.topics.some((t) => matchesTopic(m, t, hubUrl) === "yes"),
  );
  return byCovered ? "yes" : both(matches, grantsAny(sub.readable, e.topics, hubUrl));
}

/** Whether `got` is the events of `events` a subscription delivers, in order: each "yes" one, no "no" one, "maybe" ones or not. */
export function fits(got: readonly Frame[], events: readonly LoggedUpdate[], verdicts: readonly Tri[]): boolean {
  const failed = new Set<number>();
  const walk = (i: number, j: number): boolean => {
    for (;;) {
      if (i === events.length) return j === got.length;
      const v = verdicts[i];
      const e = events[i] as LoggedUpdate;
      const f = got[j];
      const can = f !== undefined && sameFrame(f, e);
      if (v === "yes" && !can) return false;
      if (v === "no" || !can) {
        i++;
        continue;
      }
      if (v === "yes") {
        i++;
        j++;
        continue;
      }
      // "maybe" and the frame fits: try both ways, remembering dead ends.
      const key = i * 1_000_003 + j;
      if (failed.has(key)) return false;
      if (walk(i + 1, j + 1) || walk(i + 1, j)) return true;
      failed.add(key);
      return false;
    }
  };
  return walk(0, 0);
}
