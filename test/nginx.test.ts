/** Behind nginx (deploy/nginx.conf, HTTPS): a browser's EventSource through one address to two nodes, one of them killed and restarted. */
import { afterAll, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { hasChromium, launch, openPage } from "./support/browser";
import { type Cluster, startCluster } from "./support/cluster";
import { type Herald, removeDir, tempDir } from "./support/herald";
import { hasProxy, type ReverseProxy, startProxy } from "./support/proxy";
import { hasRedis } from "./support/redis";
import { makeCertificate, type TestCertificate, trustedBy, trusting } from "./support/tls";
import { eventually } from "./support/wait";

let cluster: Cluster | undefined;
let nginx: ReverseProxy | undefined;
let browser: Browser | undefined;
const certs = tempDir();
const certificate: TestCertificate = makeCertificate(certs, "nginx");
afterAll(async () => {
  await browser?.close();
  await nginx?.stop();
  await cluster?.stop();
  removeDir(certs);
});

/** Publishes through nginx until stopped; a publish refused while a node is down is simply tried again. */
function publisher(url: string) {
  let running = true;
  let acked = 0;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const res = await fetch(`${url}/topics/lb/events`, { ...trusting(certificate), method: "POST", body: `event ${i}` });
      if (res.status === 201) acked++;
      else await Bun.sleep(20);
      await res.arrayBuffer();
    }
  })();
  return {
    acked: () => acked,
    stop: () => {
      running = false;
      return done;
    },
  };
}

test.skipIf(!hasRedis() || !hasProxy.nginx || !hasChromium)(
  "a browser EventSource through nginx to two nodes: one node killed and restarted while events flow, every id arrives exactly once",
  async () => {
    cluster = await startCluster(2, { HERALD_RETRY_MS: "200" });
    nginx = await startProxy("nginx", { upstreams: cluster.nodes.map((n) => `127.0.0.1:${n.port}`), certificate });
    browser = await launch([trustedBy(certificate)]);
    const { page, errors } = await openPage(browser);
    await page.goto(`${nginx.url}/health`);
    // The page's own script (a string: these tests have no DOM types): one EventSource, every id it sees.
    await page.evaluate(`
      window.ids = [];
      window.opens = 0;
      const es = new EventSource("/stream?topic=lb&lastEventId=0");
      es.onopen = () => window.opens++;
      es.onmessage = (m) => window.ids.push(m.lastEventId);
    `);
    const ids = async () => (await page.evaluate("window.ids")) as string[];
    const opens = async () => (await page.evaluate("window.opens")) as number;

    const load = publisher(nginx.url);
    await eventually(async () => (await ids()).length > 100, 15_000);
    // Kill the node holding the page's stream (least_conn put it on one of the two).
    const streams = await Promise.all(
      cluster.nodes.map(async (n) => ((await (await fetch(`${n.url}/health`)).json()) as { subscribers: number }).subscribers),
    );
    const victim = cluster.nodes[streams.indexOf(1)] as Herald;
    await victim.kill();
    await eventually(async () => (await opens()) >= 2, 15_000);
    const seenAfterFailover = (await ids()).length;
    await eventually(async () => (await ids()).length > seenAfterFailover + 100, 15_000);
    await cluster.add({ port: victim.port });
    await eventually(async () => load.acked() > 600, 20_000);
    await load.stop();

    const health = await fetch(`${nginx.url}/health`, trusting(certificate));
    const newest = Number(((await health.json()) as { lastEventId: string }).lastEventId);
    await eventually(async () => Number((await ids()).at(-1)) >= newest, 15_000);
    expect((await ids()).map(Number)).toEqual(Array.from({ length: newest }, (_, i) => i + 1));
    // The killed node's stream ends mid-response: over HTTP/2 nginx resets it (ERR_HTTP2_PROTOCOL_ERROR), the
    // HTTP/2 form of ERR_INCOMPLETE_CHUNKED_ENCODING; the EventSource reconnects either way.
    const cutStream = /ERR_INCOMPLETE_CHUNKED_ENCODING|ERR_HTTP2_PROTOCOL_ERROR|EventSource/;
    expect(errors.filter((e) => !cutStream.test(e))).toEqual([]);
  },
  90_000,
);
