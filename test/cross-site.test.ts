/** Cross-site request forgery: cookie-authenticated publishes must come from the hub's own origin or a named one. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mintToken } from "../src/cli/token";
import { dispose, type Herald, startHerald } from "./support/herald";

const SECRET = "cross-site-secret-cross-site-secret";
const NAMED = "https://app.example";
const EVIL = "https://evil.example";
let herald: Herald;
let publisher: string;
let admin: string;

beforeAll(async () => {
  herald = await startHerald({ env: { HERALD_JWT_SECRET: SECRET, HERALD_CORS_ORIGINS: `${NAMED}/` } });
  publisher = await mintToken(SECRET, { publish: ["bank", "bank.*"], subscribe: [], ttlMs: 600_000 });
  admin = await mintToken(SECRET, { publish: [], subscribe: ["*"], ttlMs: 600_000 });
});
afterAll(() => dispose(herald));

const cookie = () => ({ cookie: `herald_token=${publisher}` });

function post(headers: Record<string, string>, path = "/topics/bank/events", body = "amount=1000&to=mallory"): Promise<Response> {
  return fetch(`${herald.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
  });
}

async function stored(): Promise<number> {
  const res = await fetch(`${herald.url}/events?topic=bank*&limit=1000`, { headers: { authorization: `Bearer ${admin}` } });
  return ((await res.json()) as { events: unknown[] }).events.length;
}

async function expectRefused(res: Response): Promise<void> {
  expect(res.status).toBe(403);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe("cross_site_request");
}

describe("a cookie-authenticated publish", () => {
  test("from another origin, from Origin null, or with only a foreign Referer: 403 cross_site_request, nothing written", async () => {
    const before = await stored();
    await expectRefused(await post({ ...cookie(), origin: EVIL }));
    await expectRefused(await post({ ...cookie(), origin: "null" }));
    await expectRefused(await post({ ...cookie(), referer: `${EVIL}/attack.html` }));
    await expectRefused(await post({ ...cookie(), referer: "not a url" }));
    // A sibling on the same site is another origin all the same.
    await expectRefused(await post({ ...cookie(), origin: "https://app.example:8443", "sec-fetch-site": "same-site" }));
    // A browser that withheld both headers still says where the request came from.
    await expectRefused(await post({ ...cookie(), "sec-fetch-site": "cross-site" }));
    const batch = JSON.stringify({ events: [{ topic: "bank", data: 1 }] });
    await expectRefused(await post({ ...cookie(), origin: EVIL, "content-type": "text/plain" }, "/events", batch));
    // An Authorization header of another scheme is not a token: the cookie still authenticates, and is checked.
    await expectRefused(await post({ ...cookie(), origin: EVIL, authorization: "Basic dXNlcjpwYXNz" }));
    expect(await stored()).toBe(before);
  });

  test("from the hub's own origin, a named origin (as a Referer too), or no browser at all: accepted", async () => {
    const before = await stored();
    expect((await post({ ...cookie(), origin: herald.url })).status).toBe(201);
    expect((await post({ ...cookie(), origin: NAMED })).status).toBe(201);
    expect((await post({ ...cookie(), referer: `${NAMED}/settings?tab=1` })).status).toBe(201);
    expect((await post({ ...cookie(), referer: `${herald.url}/` })).status).toBe(201);
    // Behind a proxy the Host the hub sees is not the page's; the browser's Sec-Fetch-Site says it is the same origin.
    expect((await post({ ...cookie(), origin: "https://hub.example", "sec-fetch-site": "same-origin" })).status).toBe(201);
    expect((await post(cookie())).status).toBe(201);
    const batch = JSON.stringify({ events: [{ topic: "bank.a", data: 1 }] });
    expect((await post({ ...cookie(), origin: NAMED, "content-type": "application/json" }, "/events", batch)).status).toBe(201);
    expect(await stored()).toBe(before + 7);
  });

  test("a token in the Authorization header or access_token is not affected, even beside the cookie", async () => {
    const before = await stored();
    expect((await post({ origin: EVIL, authorization: `Bearer ${publisher}` })).status).toBe(201);
    expect((await post({ ...cookie(), origin: EVIL, authorization: `Bearer ${publisher}` })).status).toBe(201);
    expect((await post({ origin: EVIL }, `/topics/bank/events?access_token=${publisher}`)).status).toBe(201);
    expect(await stored()).toBe(before + 3);
    // Without any token the answer is the usual 401, whatever the origin.
    expect((await post({ origin: EVIL })).status).toBe(401);
  });

  test("is refused before its body is read", async () => {
    // The body is declared and never sent: the answer can only come from a check made before reading it.
    const answer = await new Promise<string>((resolve, reject) => {
      let got = "";
      void Bun.connect({
        hostname: "127.0.0.1",
        port: herald.port,
        socket: {
          open: (s) =>
            void s.write(
              `POST /topics/bank/events HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: ${EVIL}\r\nCookie: herald_token=${publisher}\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n`,
            ),
          data: (s, chunk) => {
            got += chunk.toString();
            if (got.includes("cross_site_request")) {
              s.end();
              resolve(got);
            }
          },
          close: () => resolve(got),
          error: (_s, e) => reject(e),
        },
      });
    });
    expect(answer).toStartWith("HTTP/1.1 403");
  });

  test("/metrics counts the refusals", async () => {
    const text = await (await fetch(`${herald.url}/metrics`)).text();
    expect(text).toContain("herald_cross_site_requests_refused_total 9\n");
  });
});
