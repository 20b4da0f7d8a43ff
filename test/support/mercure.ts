/** Mercure on a test hub: tokens, publishes, subscriptions with the test client of sse.ts, fresh topics. */
import { expect } from "bun:test";
import { join } from "node:path";
import { SignJWT } from "jose";
import type { Herald } from "./herald";
import { SseReader } from "./sse";

export const SECRET = "a-secret-of-at-least-thirty-two-bytes!";
const key = new TextEncoder().encode(SECRET);
export const now = () => Math.floor(Date.now() / 1000);

/** A token for `claims`, expiring in ten minutes unless they say when. */
export function sign(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ exp: now() + 600, ...claims }).setProtectedHeader({ alg: "HS256" }).sign(key);
}

let count = 0;
/** A number no other test of this process uses: the hubs are shared between tests. */
export const unique = () => ++count;
/** A topic no other test uses. */
export const fresh = (name: string) => `https://example.com/${name}/${unique()}`;

/** Publishes a Mercure update; resolves with the id the hub answered. */
export async function publish(h: Herald, fields: Array<[string, string]>): Promise<string> {
  const res = await fetch(`${h.url}/.well-known/mercure`, {
    method: "POST",
    body: new URLSearchParams(fields).toString(),
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Bearer ${await sign({ mercure: { publish: ["*"] } })}`,
    },
  });
  expect(res.status).toBe(200);
  return res.text();
}

/** An update as Symfony's `Update` takes it (symfony-publish.php). */
export interface SymfonyUpdate {
  readonly topics: string | readonly string[];
  readonly data?: string;
  readonly private?: boolean;
  readonly id?: string;
  readonly type?: string;
  readonly retry?: number;
}

const SYMFONY = join(import.meta.dir, "symfony-publish.php");

/** Publishes with Symfony's Mercure component (php-cli) to `hub`, in order; resolves with the ids the hub answered. */
export async function symfonyPublish(hub: string, jwt: string, updates: readonly SymfonyUpdate[]): Promise<string[]> {
  const proc = Bun.spawn(["php", SYMFONY, hub, jwt, JSON.stringify(updates)], { stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0 || err !== "") throw new Error(`symfony-publish.php exited ${code}: ${err}`);
  return out.trim().split("\n");
}

export function hubUrl(h: Herald, params: Array<[string, string]>): string {
  return `${h.url}/.well-known/mercure?${new URLSearchParams(params)}`;
}

/** Opens a subscription and waits for its first bytes: from then on it receives every live event. */
export async function subscribe(
  h: Herald,
  params: Array<[string, string]>,
  headers: Record<string, string> = {},
): Promise<SseReader> {
  const r = await SseReader.open(hubUrl(h, params), headers);
  if (r.response.ok) await r.until((x) => x.retry !== undefined);
  return r;
}

export const ids = (r: SseReader) => r.events.map((e) => e.id);
