/**
 * deploy/nginx.conf and deploy/Caddyfile in front of real Herald nodes, with Debian's nginx and caddy, a certificate
 * made here, and Debian's Chromium: one page holds 10 streams over one HTTP/2 connection, streams are not buffered,
 * an EventSource resumes through the proxy after its node died, and streams spread over several nodes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { hasChromium, launch } from "./support/browser";
import { dispose, type Herald, publish, removeDir, startHerald, tempDir } from "./support/herald";
import { hasProxy, type ProxyKind, type ReverseProxy, startProxy } from "./support/proxy";
import { SseReader, streamUrl } from "./support/sse";
import { makeCertificate, type TestCertificate, trustedBy, trusting } from "./support/tls";
import { eventually } from "./support/wait";

/** Starting nginx or Caddy, Herald nodes and a browser on two busy cores takes a few seconds. */
const SLOW = 60_000;
const STREAMS = 10;

let certs: string;
let certificate: TestCertificate;
let browser: Browser | undefined;

beforeAll(async () => {
  certs = tempDir();
  certificate = makeCertificate(certs, "proxy");
  if (hasChromium) browser = await launch([trustedBy(certificate)]);
});
afterAll(async () => {
  await browser?.close();
  removeDir(certs);
});

async function proxyPublish(proxy: ReverseProxy, topic: string, data: string): Promise<string> {
  const res = await fetch(`${proxy.url}/topics/${topic}/events`, { ...trusting(certificate), method: "POST", body: data });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

interface WatchedPage {
  readonly page: Page;
  /** The protocol of each stream's response, as the browser's network stack reports it (`h2`, `http/1.1`). */
  readonly streamProtocols: string[];
}

/** A page on `origin` (its /health document: any page of that origin will do) that the test drives. */
async function pageAt(origin: string): Promise<WatchedPage> {
  if (!browser) throw new Error("no browser");
  const page = await browser.newPage();
  const streamProtocols: string[] = [];
  const devtools = await page.context().newCDPSession(page);
  devtools.on("Network.responseReceived", ({ response }) => {
    if (response.url.includes("/stream?")) streamProtocols.push(response.protocol ?? "unknown");
  });
  await devtools.send("Network.enable");
  const res = await page.goto(`${origin}/health`);
  expect(res?.status()).toBe(200);
  return { page, streamProtocols };
}

interface StreamState {
  readyState: number;
  errors: number;
  events: Array<[string, string]>;
}
/** EventSource.readyState values (the tests have no DOM types). */
const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;

/** Runs in the page: opens EventSources on the page's own origin and keeps what each one sees. */
const OPEN_STREAMS = `(topic, count) => {
  window.streams = [];
  for (let i = 0; i < count; i++) {
    const s = { es: new EventSource("/stream?topic=" + topic + "&tab=" + i), errors: 0, events: [] };
    s.es.onmessage = (e) => s.events.push([e.lastEventId, e.data]);
    s.es.onerror = () => s.errors++;
    window.streams.push(s);
  }
}`;
const STREAM_STATES = "window.streams.map((s) => ({ readyState: s.es.readyState, errors: s.errors, events: [...s.events] }))";

const openStreams = (page: Page, topic: string, count: number) =>
  page.evaluate(`(${OPEN_STREAMS})(${JSON.stringify(topic)}, ${count})`);
const streamStates = (page: Page) => page.evaluate(STREAM_STATES) as Promise<StreamState[]>;

const untilStreams = (page: Page, check: (s: StreamState[]) => boolean) =>
  eventually(async () => check(await streamStates(page)), 20_000);

for (const kind of ["nginx", "caddy"] as const satisfies readonly ProxyKind[]) {
  describe.skipIf(!hasProxy[kind])(`${kind} with deploy/'s configuration`, () => {
    let node: Herald;
    let proxy: ReverseProxy;
    beforeAll(async () => {
      node = await startHerald();
      proxy = await startProxy(kind, { upstreams: [`127.0.0.1:${node.port}`], certificate });
    }, SLOW);
    afterAll(async () => {
      await proxy?.stop();
      await dispose(node);
    });

    test("a stream's first bytes and each event arrive while it is open; Last-Event-ID resumes through the proxy", async () => {
      const stream = await SseReader.open(streamUrl(proxy.url, ["through"]), {}, trusting(certificate));
      expect(stream.response.headers.get("content-type")).toStartWith("text/event-stream");
      // The preamble (retry and a comment) arrives with nothing published: nothing waits for a buffer to fill.
      await stream.until((r) => r.retry !== undefined && r.comments.length > 0);
      const first = await proxyPublish(proxy, "through", "one");
      await stream.count(1);
      const second = await proxyPublish(proxy, "through", "two");
      await stream.count(2);
      expect(stream.ended).toBe(false);
      stream.close();

      const resumed = await SseReader.open(streamUrl(proxy.url, ["through"]), { "Last-Event-ID": first }, trusting(certificate));
      await resumed.count(1);
      expect(resumed.events).toEqual([{ id: second, data: "two" }]);
      resumed.close();
    });

    test("plain HTTP redirects to HTTPS (and nginx lets certbot's challenges through)", async () => {
      const redirect = await fetch(`http://127.0.0.1:${proxy.httpPort}/stream?topic=a`, { redirect: "manual" });
      // nginx: 301 to the default port; Caddy: 308 to the port it serves HTTPS on.
      expect([301, 308]).toContain(redirect.status);
      expect(redirect.headers.get("location")).toMatch(/^https:\/\/127\.0\.0\.1(:\d+)?\/stream\?topic=a$/);
      // Caddy answers ACME's challenges itself, and here it has no ACME to answer.
      if (kind === "nginx") {
        const challenge = await fetch(`http://127.0.0.1:${proxy.httpPort}/.well-known/acme-challenge/none`, {
          redirect: "manual",
        });
        expect(challenge.status).toBe(404);
      }
    });

    test("a body past Herald's request limit gets Herald's own JSON 413 through the proxy", async () => {
      const body = new Uint8Array(33 * 1024 * 1024).fill(0x61);
      const res = await fetch(`${proxy.url}/topics/big/events`, { ...trusting(certificate), method: "POST", body });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
    });

    test.skipIf(!hasChromium)(
      `a page opens ${STREAMS} EventSources over one HTTP/2 connection and every one receives the event`,
      async () => {
        const { page, streamProtocols } = await pageAt(proxy.url);
        try {
          await openStreams(page, "tabs", STREAMS);
          await untilStreams(page, (s) => s.every((x) => x.readyState === OPEN));
          expect(streamProtocols).toEqual(Array(STREAMS).fill("h2"));
          const id = await proxyPublish(proxy, "tabs", "to every tab");
          await untilStreams(page, (s) => s.every((x) => x.events.length === 1));
          for (const s of await streamStates(page)) expect(s.events).toEqual([[id, "to every tab"]]);
        } finally {
          await page.close();
        }
      },
      SLOW,
    );

    test.skipIf(!hasChromium)(
      "Swagger UI behind the proxy tries operations out at the proxy's origin (the document's server is relative)",
      async () => {
        const { page } = await pageAt(proxy.url);
        const health = "#operations-operations-health";
        const requested: string[] = [];
        page.on("request", (r) => requested.push(r.url()));
        try {
          await page.goto(`${proxy.url}/docs`);
          for (const button of [".opblock-summary", ".try-out__btn", ".execute"]) await page.click(`${health} ${button}`);
          const status = `${health} .live-responses-table tbody .response-col_status`;
          await page.waitForSelector(status);
          expect(await page.textContent(status)).toContain("200");
          expect(requested).toContain(`${proxy.url}/health`);
        } finally {
          await page.close();
        }
      },
      SLOW,
    );

    test.skipIf(!hasChromium)(
      "an EventSource outlives its node through the proxy and resumes with Last-Event-ID: no gap, no duplicate",
      async () => {
        const dir = tempDir();
        const resumable = await startHerald({ dir, env: { HERALD_RETRY_MS: "100" } });
        const front = await startProxy(kind, { upstreams: [`127.0.0.1:${resumable.port}`], certificate });
        const { page } = await pageAt(front.url);
        let back: Herald | undefined;
        try {
          await openStreams(page, "resume", 1);
          await untilStreams(page, ([s]) => s?.readyState === OPEN);
          const first = await proxyPublish(front, "resume", "before");
          await untilStreams(page, ([s]) => s?.events.length === 1);

          await resumable.kill();
          // While no node answers the proxy drops the stream instead of answering 502, so the browser keeps retrying.
          await untilStreams(page, ([s]) => (s?.errors ?? 0) >= 3 || s?.readyState === CLOSED);
          expect((await streamStates(page))[0]?.readyState).toBe(CONNECTING);

          // An event the browser can only get from the log: written while its node was down, by another process.
          const writer = await startHerald({ dir });
          const missed = (await publish(writer.url, "resume", "while away")).id;
          expect(await writer.stop()).toBe(0);
          back = await startHerald({ dir, port: resumable.port, env: { HERALD_RETRY_MS: "100" } });
          await untilStreams(page, ([s]) => s?.events.length === 2);
          const after = (await publish(back.url, "resume", "after")).id;
          await untilStreams(page, ([s]) => s?.events.length === 3);
          expect((await streamStates(page))[0]?.events).toEqual([
            [first, "before"],
            [missed, "while away"],
            [after, "after"],
          ]);
        } finally {
          await page.close();
          await front.stop();
          if (back) await back.stop();
          if (resumable.proc.exitCode === null) await resumable.kill();
          removeDir(dir);
        }
      },
      SLOW,
    );

    test(
      "several nodes: a new stream goes to the node with the fewest open ones (least_conn, not turn by turn)",
      async () => {
        const nodes = [await startHerald(), await startHerald()];
        const front = await startProxy(kind, { upstreams: nodes.map((n) => `127.0.0.1:${n.port}`), certificate });
        const streams: SseReader[] = [];
        const subscribers = () =>
          Promise.all(
            nodes.map(async (n) => ((await (await fetch(`${n.url}/health`)).json()) as { subscribers: number }).subscribers),
          );
        const open = async () => {
          const stream = await SseReader.open(streamUrl(front.url, ["spread"]), {}, trusting(certificate));
          await stream.until((r) => r.retry !== undefined);
          streams.push(stream);
          return stream;
        };
        try {
          await open();
          const second = await open();
          expect(await subscribers()).toEqual([1, 1]);
          // One node now holds one stream and the other none; taking turns would send the next to the busy one.
          second.close();
          await eventually(async () => (await subscribers()).reduce((a, b) => a + b) === 1);
          await open();
          expect(await subscribers()).toEqual([1, 1]);
        } finally {
          for (const s of streams) s.close();
          await front.stop();
          for (const n of nodes) await dispose(n);
        }
      },
      SLOW,
    );
  });
}

describe.skipIf(!hasChromium)("without a proxy (HTTP/1.1)", () => {
  test(
    `the same page holds only 6 of its ${STREAMS} streams: why deploy/ puts HTTP/2 in front`,
    async () => {
      const node = await startHerald();
      const { page, streamProtocols } = await pageAt(node.url);
      try {
        await openStreams(page, "tabs", STREAMS);
        await untilStreams(page, (s) => s.filter((x) => x.readyState === OPEN).length >= 6);
        await publish(node.url, "tabs", "to every tab");
        await untilStreams(page, (s) => s.filter((x) => x.events.length === 1).length >= 6);
        // The event has gone round: the other four are still waiting for a connection, and will be while six are open.
        const states = await streamStates(page);
        expect(states.filter((x) => x.readyState === OPEN)).toHaveLength(6);
        expect(states.filter((x) => x.readyState === CONNECTING && x.events.length === 0)).toHaveLength(4);
        expect(streamProtocols).toEqual(Array(6).fill("http/1.1"));
      } finally {
        await page.close();
        await dispose(node);
      }
    },
    SLOW,
  );
});
