/**
 * Mercure in Chromium: the browser's own EventSource on /.well-known/mercure, opened by a page the hub serves
 * (its console, so the stream is same-origin and no CORS is involved), fed by Symfony's Mercure component and
 * by form posts; across a hub restart, across two cluster nodes, and with a token in the mercureAuthorization
 * cookie. Every wait is on a condition (the stream's `open`, an id received), never on a fixed delay.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page, Route } from "playwright-core";
import { hasChromium, launch, openPage } from "./support/browser";
import { type Cluster, startCluster } from "./support/cluster";
import { type Herald, removeDir, type StartOptions, startHerald, tempDir } from "./support/herald";
import { fresh, hubUrl, publish, SECRET, type SymfonyUpdate, sign, symfonyPublish, unique } from "./support/mercure";
import { PageStream } from "./support/page-streams";
import { hasRedis } from "./support/redis";
import { eventually } from "./support/wait";

/** Mercure's anonymous mode: every topic public, private updates for tokens only. */
const ENV = { HERALD_JWT_SECRET: SECRET, HERALD_PUBLIC_TOPICS: "*" };
const publisher = () => sign({ mercure: { publish: ["*"] } });
const endpoint = (h: Herald) => `${h.url}/.well-known/mercure`;
const isHubPath = (url: URL) => url.pathname === "/.well-known/mercure";

/** A form post of one update to `h`; resolves with the id the hub answered. */
function byForm(h: Herald, topic: string, data: string, type?: string): Promise<string> {
  return publish(h, [["topic", topic], ["data", data], ...(type === undefined ? [] : [["type", type] as [string, string]])]);
}

/** Publishes one update on `h` with Symfony's Mercure component; resolves with the id the hub answered. */
async function bySymfony(h: Herald, update: SymfonyUpdate): Promise<string> {
  const [id] = await symfonyPublish(endpoint(h), await publisher(), [update]);
  return id as string;
}

let browser: Browser;
let hub: Herald;
/** Every hub a test started: killed and removed here if a failed assertion left them behind. */
const started: Herald[] = [];

async function own(options: StartOptions): Promise<Herald> {
  const h = await startHerald(options);
  started.push(h);
  return h;
}

beforeAll(async () => {
  if (!hasChromium) return;
  browser = await launch();
  hub = await own({ env: ENV });
});

afterAll(async () => {
  if (!hasChromium) return;
  await browser.close();
  for (const h of started) {
    if (h.proc.exitCode === null && h.proc.signalCode === null) await h.kill();
    removeDir(h.dir);
  }
});

/** The hub's own page, in a browser context of its own. */
async function hubPage(h: Herald): Promise<Page> {
  const { page } = await openPage(browser);
  await page.goto(`${h.url}/`);
  return page;
}

const received = (type: string, id: string, data: string) => ({ type, id, data });

describe.skipIf(!hasChromium)("the browser's EventSource on /.well-known/mercure", () => {
  test("draft 08 match= and draft 07 topic= get Symfony's and form posts' updates: ids, types as listener names, data lines", async () => {
    const n = unique();
    const book = `https://example.com/browser/${n}/books/1`;
    const page = await hubPage(hub);
    const types = ["book.updated", "book.created"];
    const streams = [
      await PageStream.open(page, hubUrl(hub, [["match", book]]), types),
      await PageStream.open(page, hubUrl(hub, [["topic", book]]), types),
    ];
    const alternate = `https://example.com/browser/${n}/users/7/books/1`;
    const given = await bySymfony(hub, { topics: [book, alternate], data: '{"title":"One"}', id: `urn:uuid:${n}` });
    const updated = await bySymfony(hub, { topics: book, data: "line 1\nline 2\r\nline 3\rline 4", type: "book.updated" });
    const created = await byForm(hub, book, "by form\n\nafter a blank line", "book.created");
    await byForm(hub, `https://example.com/browser/${n}/books/2`, "another book");
    const plain = await byForm(hub, book, "plain");
    expect(given).toBe(`urn:uuid:${n}`);
    for (const id of [updated, created, plain]) expect(id).toMatch(/^urn:herald:\d+$/);
    const expected = [
      received("message", given, '{"title":"One"}'),
      received("book.updated", updated, "line 1\nline 2\nline 3\nline 4"),
      received("book.created", created, "by form\n\nafter a blank line"),
      received("message", plain, "plain"),
    ];
    for (const stream of streams) expect(await stream.through(plain)).toEqual(expected);
    await page.close();
  });

  test("a mercureAuthorization cookie on the hub's origin lets the page's EventSource read a private update; an anonymous one does not get it", async () => {
    const topic = fresh("browser-private");
    const context = await browser.newContext();
    const token = await sign({ mercure: { subscribe: [topic] } });
    await context.addCookies([{ name: "mercureAuthorization", value: token, url: hub.url }]);
    const withCookie = await context.newPage();
    await withCookie.goto(`${hub.url}/`);
    const cookies: Array<Promise<string | undefined>> = [];
    withCookie.on("request", (r) => {
      if (isHubPath(new URL(r.url()))) cookies.push(r.allHeaders().then((headers) => headers.cookie));
    });
    const holder = await PageStream.open(withCookie, hubUrl(hub, [["match", topic]]));
    const anonymous = await hubPage(hub);
    const stranger = await PageStream.open(anonymous, hubUrl(hub, [["match", topic]]));
    const secret = await bySymfony(hub, { topics: topic, data: "for the cookie's holder", private: true });
    const open = await byForm(hub, topic, "for everyone");
    // In log order: had the anonymous stream been sent the private update, it would show before the public one.
    expect(await holder.through(open)).toEqual([
      received("message", secret, "for the cookie's holder"),
      received("message", open, "for everyone"),
    ]);
    expect(await stranger.through(open)).toEqual([received("message", open, "for everyone")]);
    expect(await Promise.all(cookies)).toEqual([`mercureAuthorization=${token}`]);
    await context.close();
    await anonymous.close();
  });

  test("across a SIGTERM restart on the same port and log, the EventSource resumes by itself with Last-Event-ID: what was published meanwhile, once", async () => {
    const dir = tempDir();
    const env = { ...ENV, HERALD_RETRY_MS: "100" };
    const first = await own({ dir, env });
    const { port } = first;
    const topic = fresh("browser-restart");
    const page = await hubPage(first);
    const stream = await PageStream.open(page, hubUrl(first, [["match", topic]]), ["tick"]);
    const before = await byForm(first, topic, "before");
    const last = await bySymfony(first, { topics: topic, data: "before\nby Symfony", type: "tick" });
    await stream.through(last);

    // Each reconnect is held until the test lets it go: none reaches the stopping hub, whose answer to a new
    // stream would be a 503 (after which an EventSource gives up for good).
    const held: Route[] = [];
    await page.route(isHubPath, (route) => {
      held.push(route);
    });
    expect(await first.stop()).toBe(0);
    await eventually(() => held.length === 1, 15_000);
    // The first try meets the closed port; the browser tries again by itself.
    await (held[0] as Route).continue();
    await eventually(() => held.length === 2, 15_000);
    expect(await stream.state()).toMatchObject({ errors: 2, readyState: 0 });

    const second = await own({ dir, port, env });
    const id = `urn:uuid:restart-${unique()}`;
    const meanwhile = await bySymfony(second, { topics: topic, data: "meanwhile\nby Symfony", type: "tick", id });
    expect(meanwhile).toBe(id);
    const alsoMeanwhile = await byForm(second, topic, "meanwhile by form");
    const resumed = page.waitForResponse((r) => isHubPath(new URL(r.url())));
    await (held[1] as Route).continue();
    await page.unroute(isHubPath);
    // The query names no id, so the hub resumed from the browser's Last-Event-ID header (which DevTools does
    // not list among the request's headers); it answers where it resumed from.
    const response = await resumed;
    expect([...new URL(response.url()).searchParams.keys()]).toEqual(["match"]);
    expect(response.status()).toBe(200);
    expect(await response.headerValue("mercure-last-event-id")).toBe(last);
    const after = await byForm(second, topic, "after");
    expect(await stream.through(after)).toEqual([
      received("message", before, "before"),
      received("tick", last, "before\nby Symfony"),
      received("tick", meanwhile, "meanwhile\nby Symfony"),
      received("message", alsoMeanwhile, "meanwhile by form"),
      received("message", after, "after"),
    ]);
    expect(held.length).toBe(2);
    expect((await stream.state()).opens).toBe(2);
    await page.close();
    expect(await second.stop()).toBe(0);
  }, 60_000);
});

describe.skipIf(!hasChromium || !hasRedis())("two hubs on one Redis", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(2, ENV);
  });
  afterAll(() => cluster.stop());

  test("an EventSource on node A gets what is published on node B; on node B, last_event_id and lastEventID resume with exactly the missed updates", async () => {
    const [a, b] = cluster.nodes as [Herald, Herald];
    const topic = fresh("browser-cluster");
    const pageA = await hubPage(a);
    const onA = await PageStream.open(pageA, hubUrl(a, [["match", topic]]), ["book.updated"]);
    const id = `urn:uuid:cluster-${unique()}`;
    const given = await bySymfony(b, { topics: topic, data: "from B\nby Symfony", type: "book.updated", id });
    expect(given).toBe(id);
    const plain = await byForm(b, topic, "from B by form");
    const fromB = received("message", plain, "from B by form");
    expect(await onA.through(plain)).toEqual([received("book.updated", given, "from B\nby Symfony"), fromB]);
    await onA.close();

    const missedOnA = await byForm(a, topic, "missed on A");
    const missedOnB = await bySymfony(b, { topics: topic, data: "missed\non B", type: "book.updated" });
    const pageB = await hubPage(b);
    // Draft 08 from Herald's id, draft 07 from the publisher's: both resolve to a position in the one log.
    const since = (param: string, value: string): Array<[string, string]> => [
      [param === "last_event_id" ? "match" : "topic", topic],
      [param, value],
    ];
    const draft08 = await PageStream.open(pageB, hubUrl(b, since("last_event_id", plain)), ["book.updated"]);
    const draft07 = await PageStream.open(pageB, hubUrl(b, since("lastEventID", given)), ["book.updated"]);
    const live = await byForm(a, topic, "live from A");
    const rest = [
      received("message", missedOnA, "missed on A"),
      received("book.updated", missedOnB, "missed\non B"),
      received("message", live, "live from A"),
    ];
    expect(await draft08.through(live)).toEqual(rest);
    expect(await draft07.through(live)).toEqual([fromB, ...rest]);
    await pageA.close();
    await pageB.close();
  }, 30_000);
});
