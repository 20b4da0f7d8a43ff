/**
 * The property on the Mercure endpoint: any run of generated publishes and subscriptions against a real hub
 * (with a secret, RFC 9068's audience and issuer, and some public topics) gets exactly the answers drafts 07
 * and 08 and Herald's spec allow; accepted updates read back with exactly their fields; refused ones write
 * nothing; no reader gets a private update its token does not grant. One hub serves every run.
 */
import fc from "fast-check";
import { assertProperty, type FuzzOptions, type FuzzReport } from "./fuzz";
import { FUZZ_MAX_EVENT_BYTES } from "./fuzz-bodies";
import { Mismatch } from "./fuzz-check";
import { dispose, startHerald } from "./herald";
import { ANSWER_MS, appended, type Context, checkPublish, fail, publishNative } from "./mercure-fuzz-check";
import { type Encoding, FENCE_TOPIC, mercureRun, type Part, type PublishSpec, type SubscribeSpec } from "./mercure-fuzz-gen";
import { type Grant, readToken } from "./mercure-fuzz-grants";
import { type LoggedUpdate, MercureModel, type Update } from "./mercure-fuzz-model";
import { judgeMercure, type MercureOracleConfig } from "./mercure-fuzz-oracle";
import { adopt, checkSubscribe, verifyLog } from "./mercure-fuzz-stream";
import { carry, FUZZ_AUDIENCE, FUZZ_ISSUER, FUZZ_SECRET, MASTER } from "./mercure-fuzz-tokens";
import type { WireRequest } from "./oracle";

const PUBLIC_TOPICS = ["https://example.com/pub/*", "news.*", "urn:fuzz:*"];
const HUB_PATH = "/.well-known/mercure";
const nowSeconds = () => Math.floor(Date.now() / 1000);

const hex = (b: number, lower = false) =>
  `%${b.toString(16).toUpperCase().padStart(2, "0")}`[lower ? "toLowerCase" : "toString"]();

/** A field's name or value written in one of the generated ways. */
function encode(text: string, enc: Encoding): string {
  const utf8 = [...Buffer.from(text)];
  switch (enc) {
    case "form":
      return utf8
        .map((b) => (b === 0x20 ? "+" : /[A-Za-z0-9*\-._]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : hex(b)))
        .join("");
    case "component":
      return encodeURIComponent(text);
    case "all":
      return utf8.map((b) => hex(b)).join("");
    case "lower":
      return utf8.map((b) => hex(b, true)).join("");
    case "letters":
      return encodeURIComponent(text).replace(/[a-z]/g, (c) => hex(c.charCodeAt(0)));
    case "bare":
      return text.replace(/[%&=+#]/g, (c) => hex(c.charCodeAt(0)));
  }
}

/** `{last}`, `{last-n}` and `{last+n}`: ids relative to the newest event of the log when the request is sent. */
function resolve(text: string, lastId: number): string {
  return text.replace(/\{last([+-]\d+)?\}/g, (_, delta?: string) => String(lastId + Number(delta ?? 0)));
}

function partBytes(part: Part, lastId: number): Uint8Array {
  if ("bytes" in part) return Uint8Array.from(part.bytes);
  if ("raw" in part) return Buffer.from(part.raw);
  const name = encode(part.name, part.enc);
  return Buffer.from(part.value === null ? name : `${name}=${encode(resolve(part.value, lastId), part.enc)}`);
}

function join(parts: readonly Uint8Array[]): Uint8Array {
  const amp = Buffer.from("&");
  return Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [amp, p])));
}

interface Moment {
  readonly base: string;
  readonly lastId: number;
  readonly nonce: string;
}

/** The request as it goes on the wire: URL and headers as fetch will send them, which is what the oracle judges. */
function wire(step: PublishSpec | SubscribeSpec, at: Moment): WireRequest {
  const now = nowSeconds();
  const { headers: tokenHeaders, query: tokenQuery } = carry(step.tokens, now);
  const headers = new Headers(tokenHeaders);
  let query: string[];
  let body: Uint8Array | undefined;
  if (step.kind === "publish") {
    query = tokenQuery;
    body = join(step.parts.map((p) => partBytes(p, at.lastId)));
    if (step.contentType !== undefined) headers.set("content-type", step.contentType);
    if (step.origin !== undefined) headers.set("origin", step.origin.replace("{hub}", at.base));
    if (step.referer !== undefined) headers.set("referer", step.referer.replace("{hub}", at.base));
    if (step.idempotencyKey !== undefined) headers.set("idempotency-key", step.idempotencyKey.replaceAll("{nonce}", at.nonce));
  } else {
    const parts = step.parts.map((p) => Buffer.from(partBytes(p, at.lastId)).toString());
    if (step.fence !== null) parts.splice(step.fence, 0, `match=${encodeURIComponent(FENCE_TOPIC)}`);
    query = [...parts, ...tokenQuery];
    // A header carries bytes: a non-ASCII id goes as its UTF-8 bytes, as EventSource sends it.
    if (step.lastEventId !== undefined)
      headers.set("last-event-id", Buffer.from(resolve(step.lastEventId, at.lastId)).toString("latin1"));
  }
  const url = new URL(`${at.base}${HUB_PATH}${query.length > 0 ? `?${query.join("&")}` : ""}`);
  const method = step.kind === "publish" ? step.method : "GET";
  return { method, path: url.pathname, query: url.search.slice(1), headers: Object.fromEntries(headers), body };
}

/** The request, short enough to read in a failure. */
function describe(req: WireRequest): string {
  const body =
    req.body === undefined ? "" : `\n  body: ${JSON.stringify(Buffer.from(req.body).toString("latin1").slice(0, 600))}`;
  return `${req.method} ${req.path}?${req.query.slice(0, 600)}\n  headers: ${JSON.stringify(req.headers).slice(0, 1200)}${body}`;
}

/** Herald's selectors in HERALD_PUBLIC_TOPICS, as the oracle reads grants. */
const publicGrants: Grant[] = PUBLIC_TOPICS.map((t) => ({ kind: "prefix", value: t.slice(0, -1) }));

export async function mercureFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const h = await startHerald({
    env: {
      HERALD_JWT_SECRET: FUZZ_SECRET,
      HERALD_MERCURE_AUDIENCE: FUZZ_AUDIENCE,
      HERALD_MERCURE_ISSUER: FUZZ_ISSUER,
      HERALD_PUBLIC_TOPICS: PUBLIC_TOPICS.join(","),
      HERALD_MAX_EVENT_BYTES: String(FUZZ_MAX_EVENT_BYTES),
      HERALD_SYNC: "normal",
    },
  });
  const hubUrl = new URL(FUZZ_AUDIENCE);
  const config: MercureOracleConfig = {
    secret: FUZZ_SECRET,
    audience: FUZZ_AUDIENCE,
    issuer: FUZZ_ISSUER,
    hubUrl,
    origin: h.url,
    maxEventBytes: FUZZ_MAX_EVENT_BYTES,
    publicTopics: publicGrants,
    nowSeconds,
  };
  const model = new MercureModel();
  const master = () => carry([{ at: "header", token: MASTER }], nowSeconds()).headers;
  const fence = async (): Promise<LoggedUpdate> => {
    const update: Update = { topics: [FENCE_TOPIC], private: false, type: null, data: "fence" };
    const res = await fetch(`${h.url}${HUB_PATH}`, {
      method: "POST",
      body: `topic=${encodeURIComponent(FENCE_TOPIC)}&data=fence`,
      headers: { ...master(), "content-type": "application/x-www-form-urlencoded" },
      signal: AbortSignal.timeout(ANSWER_MS),
    });
    const answer = await res.text();
    if (res.status !== 200) fail("the fence was refused", { status: res.status, answer });
    return appended(ctx, answer, update);
  };
  const ctx: Context = {
    base: h.url,
    hubUrl,
    model,
    get master() {
      return master();
    },
    fence,
  };
  if (!readToken(master().authorization?.slice(7) ?? "", config, nowSeconds()).valid)
    throw new Error("the oracle refuses the driver's token");
  let stale = false;
  let runs = 0;
  let requests = 0;
  const statuses: Record<string, number> = {};
  const property = fc.asyncProperty(mercureRun, async (steps) => {
    if (stale) await adopt(ctx);
    stale = true;
    runs++;
    const at = { base: h.url, nonce: `${runs}.${Date.now()}` };
    const from = model.lastId;
    for (const step of steps) {
      if (step.kind === "native") {
        const status = await publishNative(ctx, step);
        statuses[`native ${status}`] = (statuses[`native ${status}`] ?? 0) + 1;
        continue;
      }
      const req = wire(step, { ...at, lastId: model.lastId });
      const outcomes = judgeMercure(req, config);
      let status: number;
      try {
        status =
          step.kind === "publish"
            ? await checkPublish(ctx, req, outcomes)
            : await checkSubscribe(ctx, req, outcomes, step.fence !== null);
      } catch (error) {
        throw new Mismatch(`${describe(req)}\n${error instanceof Error ? error.message : String(error)}`);
      }
      requests++;
      const key = `${step.kind} ${status}`;
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
    if (h.proc.exitCode !== null) throw new Error(`the hub exited with ${h.proc.exitCode}`);
    await verifyLog(ctx, from);
    stale = false;
  });
  try {
    await assertProperty("mercure", property, options, log);
  } finally {
    await dispose(h);
  }
  return { runs, requests, statuses, events: model.events.length, ms: Date.now() - started };
}
