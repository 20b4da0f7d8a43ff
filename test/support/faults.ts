/** What the storage-fault tests look at: answers to publishes, /health, /metrics, the log lines and the history. */
import { expect } from "bun:test";
import { type BootOutcome, boot, expectRefusal } from "./boot";
import type { Herald } from "./herald";

/** Starts Herald on a database it should refuse. */
export const refusal = (db: string): Promise<BootOutcome> => boot({ HERALD_DB: db });

/** The refusal is one `herald: cannot open the log at ...` line saying `says`, exit code 2, and no start. */
export function expectOneLine(r: BootOutcome, says: RegExp): void {
  expectRefusal(r, says);
  expect(r.stderr).toMatch(/^herald: cannot open the log at /);
}

export interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: { id?: string; error?: { code: string; message: string }; events?: Array<{ id: string }> };
}

/** A JSON publish to one topic (or a batch when `topic` is undefined), whatever the answer. */
export async function post(h: Herald, topic: string | undefined, data: unknown, key?: string): Promise<Answer> {
  const body = topic === undefined ? { events: (data as unknown[]).map((d) => ({ topic: "batch", data: d })) } : { data };
  const res = await fetch(`${h.url}${topic === undefined ? "/events" : `/topics/${topic}/events`}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { "idempotency-key": key } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: (await res.json()) as Answer["body"] };
}

/** A Mercure publish (form-encoded, open mode) of one update, whatever the answer. */
export async function mercurePost(h: Herald, topic: string, data: string): Promise<Answer> {
  const res = await fetch(`${h.url}/.well-known/mercure`, { method: "POST", body: new URLSearchParams({ topic, data }) });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: res.ok ? { id: text } : JSON.parse(text) };
}

export interface HealthAnswer {
  readonly status: number;
  readonly body: { status: string; reason?: string; message?: string; lastEventId: string };
}

export async function health(h: Herald): Promise<HealthAnswer> {
  const res = await fetch(`${h.url}/health`);
  return { status: res.status, body: (await res.json()) as HealthAnswer["body"] };
}

/** One sample of /metrics, by its full name with labels (`herald_log_faults_total{reason="storage_full"}`). */
export async function metric(h: Herald, name: string): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.slice(name.length + 1));
}

/** Log lines (JSON, one a line on stdout) with this `msg`. */
export function logged(h: Herald, msg: string): Array<Record<string, unknown>> {
  return h.lines
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === msg);
}

/** Every retained event of a topic, id → data, in id order, read page by page. */
export async function history(h: Herald, topic: string): Promise<Array<[string, unknown]>> {
  const out: Array<[string, unknown]> = [];
  let after = "0";
  for (;;) {
    const page = (await (await fetch(`${h.url}/events?topic=${topic}&after=${after}&limit=1000`)).json()) as {
      events: Array<{ id: string; data: unknown }>;
      next: string | null;
    };
    for (const e of page.events) out.push([e.id, e.data]);
    if (page.next === null) return out;
    after = page.next;
  }
}
