/**
 * Subscriptions under the Mercure fuzz: a stream the oracle allows is read up to a fence (an update the driver
 * publishes to a matcher the request carried), so "exactly these events" is checked, not only "at least these";
 * and the log after each run, read back whole through /events and a Mercure replay of everything.
 */
import { type Context, checkError, deliver, type Frame, fail, fits, frames, readBack, urlOf } from "./mercure-fuzz-check";
import { type LoggedUpdate, MercureModel, type Shown } from "./mercure-fuzz-model";
import type { MercureOutcome, Subscription } from "./mercure-fuzz-oracle";
import { tokenInUrl } from "./mercure-fuzz-wire";
import type { WireRequest } from "./oracle";
import { SseReader } from "./sse";

const WAIT_MS = 10_000;
const latin1 = (text: string) => Buffer.from(text, "utf8").toString("latin1");

/** The events a replay resuming from `given` covers, each with whether it must, may or must not be sent. */
function expected(ctx: Context, sub: Subscription, given: string | undefined, before: number) {
  if (given === undefined) return { told: undefined, events: [], verdicts: [] };
  const { after, told } = ctx.model.resume(given, before);
  const events = ctx.model.events.filter((e) => e.id > after && e.id <= before);
  return { told, events, verdicts: events.map((e) => deliver(sub, e, ctx.hubUrl)) };
}

type Replay = ReturnType<typeof expected>;

/** Whether `got` and the resume headers are the replay `want` describes (no `told`: no resume was asked). */
function explains({ told, events, verdicts }: Replay, got: readonly Frame[], res: Response) {
  if (told !== undefined) {
    if (res.headers.get("mercure-last-event-id") !== latin1(told) || res.headers.get("last-event-id") !== latin1(told))
      return false;
  }
  return fits(got, events, verdicts);
}

/**
 * What a stream without a fence sent, read until it is a replay `allowed` takes or the wait runs out: such a stream
 * never says it is done. A count of the events it must send is no sign of that: events it may send come among
 * them, so as many can have come while one it must send is still on its way (in the next page of a replay).
 */
export async function readUnfenced(reader: SseReader, allowed: (got: readonly Frame[]) => boolean): Promise<Frame[]> {
  // Looked at again only once another event has come: a replay of the whole log comes in many pieces.
  let looked = -1;
  const settled = (r: SseReader) => {
    if (r.events.length === looked) return false;
    looked = r.events.length;
    return allowed(frames(r.raw));
  };
  await reader.until(settled, WAIT_MS).catch(() => {});
  return frames(reader.raw);
}

async function checkStream(ctx: Context, reader: SseReader, sub: Subscription, req: WireRequest, fenced: boolean) {
  const h = reader.response.headers;
  const cache = h.get("cache-control") ?? "";
  // Draft 07: an answer to a token in the URL is `private`, so no shared cache keeps what it was shown.
  if (
    !h.get("content-type")?.startsWith("text/event-stream") ||
    !/\bno-cache\b/.test(cache) ||
    (tokenInUrl(req) && !/\bprivate\b/.test(cache))
  ) {
    fail("stream headers", Object.fromEntries(h));
  }
  const before = ctx.model.lastId;
  const wants = sub.resume.map((given) => expected(ctx, sub, given, before));
  const explainedBy = (got: readonly Frame[]) => wants.some((want) => explains(want, got, reader.response));
  await reader.until((r) => r.retry !== undefined, WAIT_MS).catch((e) => fail(`stream preamble: ${e}`, reader.raw.slice(0, 300)));
  let got: Frame[];
  if (fenced) {
    const fence = MercureModel.mercureId(await ctx.fence());
    await reader
      .until((r) => r.events[r.events.length - 1]?.id === fence, WAIT_MS)
      .catch((e) => fail(`waiting for the fence ${fence}: ${e}`, { raw: reader.raw.slice(-1500), sub }));
    got = frames(reader.raw).slice(0, -1);
  } else {
    // Without a fence only what arrived can be judged: every event it must send, in order, and none it must not.
    got = await readUnfenced(reader, explainedBy);
  }
  if (!explainedBy(got)) {
    const headers = { "mercure-last-event-id": h.get("mercure-last-event-id"), "last-event-id": h.get("last-event-id") };
    const why = sub.resume.map((given, i) => ({
      given,
      ...difference(got, wants[i] as Replay, reader.response),
    }));
    fail("the replay is not what the drafts allow", { headers, why, sent: got.length });
  }
}

/** What sets a replay apart from what resuming from one id gives: events sent that must not be, or not sent that must be. */
function difference(got: readonly Frame[], want: Replay, res: Response) {
  const show = (e: LoggedUpdate, i: number) => ({
    id: MercureModel.mercureId(e),
    topics: e.topics,
    private: e.private,
    verdict: want.verdicts[i],
  });
  const sent = new Set(got.map((f) => f.id));
  const allowed = new Set(want.events.filter((_, i) => want.verdicts[i] !== "no").map((e) => MercureModel.mercureId(e)));
  const unexpected = got.filter((f) => !allowed.has(f.id ?? "")).slice(0, 5);
  // Publishers' ids repeat: an event counts as sent where no event it may send has its id.
  const leaked = want.events.flatMap((e, i) => {
    const id = MercureModel.mercureId(e);
    return want.verdicts[i] === "no" && sent.has(id) && !allowed.has(id) ? [show(e, i)] : [];
  });
  const missing = want.events.flatMap((e, i) =>
    want.verdicts[i] === "yes" && !sent.has(MercureModel.mercureId(e)) ? [show(e, i)] : [],
  );
  const headerSays = res.headers.get("mercure-last-event-id");
  const told = want.told === undefined || headerSays === latin1(want.told) ? want.told : `${want.told} (not ${headerSays})`;
  return { told, leaked: leaked.slice(0, 5), missing: missing.slice(0, 5), unexpected, first: got.slice(0, 3) };
}

/** Opens a subscription and checks its answer; resolves with the status. */
export async function checkSubscribe(ctx: Context, req: WireRequest, outcomes: readonly MercureOutcome[], fenced: boolean) {
  const reader = await SseReader.open(urlOf(ctx.base, req), { ...req.headers });
  try {
    const success = outcomes.find((o) => o.kind === "subscribe");
    if (reader.response.status === 200 && success?.kind === "subscribe") {
      await checkStream(ctx, reader, success.subscription, req, fenced);
    } else {
      checkError(reader.response, reader.response.status === 200 ? "(a stream)" : await reader.response.text(), outcomes);
    }
    return reader.response.status;
  } finally {
    reader.close();
  }
}

/** The events after `after` as a Mercure reader of everything gets them. */
async function replay(ctx: Context, after: number, count: number): Promise<Frame[]> {
  const resume = after === 0 ? "earliest" : `urn:herald:${after}`;
  const url = `${ctx.base}/.well-known/mercure?match=*&last_event_id=${encodeURIComponent(resume)}`;
  const reader = await SseReader.open(url, ctx.master);
  try {
    if (reader.response.status !== 200)
      fail("replaying the log", { status: reader.response.status, body: await reader.response.text() });
    await reader
      .until((r) => r.events.length >= count, WAIT_MS)
      .catch((e) => fail(`replaying the log: ${e}`, reader.raw.slice(-500)));
    return frames(reader.raw).slice(0, count);
  } finally {
    reader.close();
  }
}

async function allAfter(ctx: Context, after: number): Promise<Shown[]> {
  const events: Shown[] = [];
  for (let cursor = after; ; ) {
    const page = await readBack(ctx, cursor, 1000);
    events.push(...page);
    if (page.length < 1000) return events;
    cursor = Number(page[page.length - 1]?.id);
  }
}

/** Everything after `after` is in the log as the model has it: nothing refused was written, nothing accepted lost or changed. */
export async function verifyLog(ctx: Context, after: number): Promise<void> {
  const expected = ctx.model.events.filter((e) => e.id > after);
  const stored = await allAfter(ctx, after);
  const shown = expected.map(MercureModel.shown);
  if (JSON.stringify(stored) !== JSON.stringify(shown)) {
    const at = shown.findIndex((e, i) => JSON.stringify(e) !== JSON.stringify(stored[i]));
    fail("the log is not what was accepted", {
      stored: stored.length,
      expected: shown.length,
      at,
      got: stored[at],
      want: shown[at],
    });
  }
  const got = await replay(ctx, after, expected.length);
  if (
    !fits(
      got,
      expected,
      expected.map(() => "yes"),
    )
  ) {
    fail("a Mercure replay of everything", { got: got.slice(0, 20), expected: expected.slice(0, 20) });
  }
  const health = (await (await fetch(`${ctx.base}/health`)).json()) as { lastEventId: string };
  if (health.lastEventId !== String(ctx.model.lastId)) fail("health lastEventId", { health, model: ctx.model.lastId });
}

/** After a failed run: the events the model missed, as the hub shows them. */
export async function adopt(ctx: Context): Promise<void> {
  for (const e of await allAfter(ctx, ctx.model.lastId)) ctx.model.adopt(e);
}
