/**
 * `bun bench/streams-per-page.ts [count]`: how many EventSources one Chromium page holds open, and how many of them
 * receive an event, straight to Herald (HTTP/1.1, plain and native TLS) and through deploy/'s nginx and Caddy
 * (HTTP/2). Prints a Markdown table; the README's Deploy section quotes it.
 */
import { hasChromium, launch } from "../test/support/browser";
import { dispose, type Herald, removeDir, startHerald, tempDir } from "../test/support/herald";
import { hasProxy, type ProxyKind, type ReverseProxy, startProxy } from "../test/support/proxy";
import { makeCertificate, trustedBy, trusting } from "../test/support/tls";

const COUNT = Number(process.argv[2] ?? 300);
/** The longest a page may take to open its streams. */
const SETTLE_MS = 30_000;

if (!hasChromium) throw new Error("needs /usr/bin/chromium");
const certs = tempDir();
const certificate = makeCertificate(certs, "bench");
const browser = await launch([trustedBy(certificate)]);

const OPEN = `(count) => {
  window.streams = [];
  for (let i = 0; i < count; i++) {
    const s = { es: new EventSource("/stream?topic=page&tab=" + i), got: 0 };
    s.es.onmessage = () => s.got++;
    window.streams.push(s);
  }
}`;
const COUNTS = "({ open: streams.filter((s) => s.es.readyState === 1).length, got: streams.filter((s) => s.got > 0).length })";

interface Row {
  path: string;
  protocol: string;
  open: number;
  received: number;
}

async function measure(path: string, origin: string, node: Herald): Promise<Row> {
  const page = await browser.newPage();
  try {
    await page.goto(`${origin}/health`);
    const protocol = String(await page.evaluate('performance.getEntriesByType("navigation")[0].nextHopProtocol'));
    await page.evaluate(`(${OPEN})(${COUNT})`);
    const counts = () => page.evaluate(COUNTS) as Promise<{ open: number; got: number }>;
    // Streams all open, or stop at the browser's limit: taken as held once the count is still for 2 s.
    const deadline = Date.now() + SETTLE_MS;
    let still = 0;
    let last = -1;
    while (still < 4 && Date.now() < deadline) {
      const { open } = await counts();
      if (open === COUNT) break;
      still = open === last ? still + 1 : 0;
      last = open;
      await Bun.sleep(500);
    }
    const res = await fetch(`${node.url}/topics/page/events`, { method: "POST", body: "hello", ...trusting(certificate) });
    if (res.status !== 201) throw new Error(`publish: ${res.status}`);
    const before = Date.now();
    let result = await counts();
    while (result.got < result.open && Date.now() - before < 5000) {
      await Bun.sleep(100);
      result = await counts();
    }
    return { path, protocol, open: result.open, received: result.got };
  } finally {
    await page.close();
  }
}

const rows: Row[] = [];
const plain = await startHerald();
rows.push(await measure("Herald, plain HTTP", plain.url, plain));
const native = await startHerald({ env: { HERALD_TLS_CERT: certificate.certPath, HERALD_TLS_KEY: certificate.keyPath } });
rows.push(await measure("Herald, native TLS", native.url, native));
for (const kind of ["nginx", "caddy"] as const satisfies readonly ProxyKind[]) {
  if (!hasProxy[kind]) continue;
  const proxy: ReverseProxy = await startProxy(kind, { upstreams: [`127.0.0.1:${plain.port}`], certificate });
  rows.push(await measure(`${kind} (deploy/)`, proxy.url, plain));
  await proxy.stop();
}
await browser.close();
await dispose(plain);
await dispose(native);
removeDir(certs);

console.log(`One Chromium page opening ${COUNT} EventSources to one origin:\n`);
console.log("| path | protocol | streams open | received the event |\n|---|---|---|---|");
for (const r of rows) console.log(`| ${r.path} | ${r.protocol} | ${r.open} | ${r.received} |`);
