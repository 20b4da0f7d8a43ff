import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { dispose, type Herald, startHerald } from "./support/herald";
import { rawRequest, splitAnswers } from "./support/raw-client";
import { eventually } from "./support/wait";

let herald: Herald;
/** A bare Bun server probed alongside the hub: what the loaded machine allows at that very moment. */
let control: { url: string; proc: Subprocess };
beforeAll(async () => {
  herald = await startHerald();
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "abuse", "control-server.ts")], { stdout: "pipe" });
  const reader = proc.stdout.getReader();
  const port = new TextDecoder().decode((await reader.read()).value).trim();
  reader.releaseLock();
  control = { url: `http://127.0.0.1:${port}`, proc };
});
afterAll(async () => {
  control.proc.kill();
  await dispose(herald);
});

const ATTACKER = join(import.meta.dir, "abuse", "attacker.ts");
/** The probe's bound: a well-behaved client's p99 while the abuse runs. */
const PROBE_P99_MS = 50;
/** What the abuse may add to the hub's resident memory. */
const RSS_GROWTH_BYTES = 64 * 1024 * 1024;
/** Each abusive connection costs one descriptor in the hub and one in the attacker: stay under the soft limit. */
const openFileLimit = Number(Bun.spawnSync(["sh", "-c", "ulimit -n"]).stdout.toString().trim()) || 1024;
const CONNECTIONS = Math.min(2000, openFileLimit - 256);

const BUN_400 = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
const BUN_431 = "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n";
const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
const oneAnswer = (t: string) => splitAnswers(t).length === 1;

async function subscribers(): Promise<number> {
  return ((await (await fetch(`${herald.url}/health`)).json()) as { subscribers: number }).subscribers;
}

function jsonError(text: string): { status: number; code: string; type: string } {
  const [a] = splitAnswers(text);
  return {
    status: a?.status ?? 0,
    type: /content-type: ([^\r;]+)/i.exec(a?.headers ?? "")?.[1] ?? "",
    code: (JSON.parse(a?.body || "{}") as { error?: { code: string } }).error?.code ?? "",
  };
}

describe("what Bun answers itself, before any of our code runs", () => {
  test("headers or a URL past 16 KiB: a bare 431 and the connection closed", async () => {
    const header = await rawRequest(herald.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(17 * 1024)}\r\n\r\n`);
    expect(header).toEqual({ text: BUN_431, closed: true });
    const url = await rawRequest(herald.port, GET(`/events?topic=${"a".repeat(64 * 1024)}`));
    expect(url).toEqual({ text: BUN_431, closed: true });
  });

  test("a request that is not HTTP/1.x: a bare 400 and the connection closed; an unknown method: closed unanswered", async () => {
    const malformed = [
      "\u0016\u0003\u0001\u0000\u00a5\u0001 a TLS hello\r\n\r\n",
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
      "GET /health HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n",
      "GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n",
      "GET /health HTTP/1.1\r\n\r\n",
      "POST /topics/a/events HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "POST /topics/a/events HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    ];
    for (const payload of malformed) expect(await rawRequest(herald.port, payload)).toEqual({ text: BUN_400, closed: true });
    expect(await rawRequest(herald.port, "BREW /health HTTP/1.1\r\nHost: x\r\n\r\n")).toEqual({ text: "", closed: true });
    // None of it was a publish.
    expect(((await (await fetch(`${herald.url}/health`)).json()) as { lastEventId: string }).lastEventId).toBe("0");
  });
});

describe("odd but valid clients reach the hub, and its errors are JSON", () => {
  test("a long URL within the limit, a bad Last-Event-ID, bad JSON over HTTP/1.0: each its JSON error", async () => {
    const long = await rawRequest(herald.port, GET(`/events?topic=${"a".repeat(8 * 1024)}`), { until: oneAnswer });
    expect(jsonError(long.text)).toEqual({ status: 400, type: "application/json", code: "invalid_selector" });
    const resume = await rawRequest(herald.port, "GET /stream?topic=a HTTP/1.1\r\nHost: x\r\nLast-Event-ID: -1\r\n\r\n", {
      until: oneAnswer,
    });
    expect(jsonError(resume.text)).toEqual({ status: 400, type: "application/json", code: "invalid_event_id" });
    const body = '{"data":';
    const old = await rawRequest(
      herald.port,
      `POST /topics/a/events HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(jsonError(old.text)).toEqual({ status: 400, type: "application/json", code: "invalid_json" });
    expect(old.closed).toBe(true);
  });

  test("pipelined reads are answered in order", async () => {
    const reads = [GET("/health"), GET("/events?topic=a"), GET("/topics")];
    const sent = Array.from({ length: 99 }, (_, i) => reads[i % 3]).join("");
    const answer = await rawRequest(herald.port, sent, { until: (t) => splitAnswers(t).length === 99 });
    expect(splitAnswers(answer.text).map((a) => a.status)).toEqual(Array(99).fill(200));
  });

  test("a request pipelined behind a publish: Bun closes the connection unanswered; a retry with the same key is safe", async () => {
    // uWS refuses "async pipelining": a request that arrives while the answer ahead of it is pending (a publish
    // waits for its commit) closes the connection, and that answer is dropped. The publish ahead may have
    // committed; the ones behind it never ran.
    const publish = (i: number) =>
      `POST /topics/pipelined/events HTTP/1.1\r\nHost: x\r\nIdempotency-Key: pipelined-${i}\r\nContent-Type: text/plain\r\nContent-Length: ${String(i).length}\r\n\r\n${i}`;
    const sent = await rawRequest(herald.port, [0, 1, 2].map(publish).join(""));
    expect(sent).toEqual({ text: "", closed: true });
    // What a client does with a connection closed unanswered: send each again, alone, with its key.
    for (const i of [0, 1, 2]) {
      const again = await rawRequest(herald.port, publish(i), { until: oneAnswer });
      expect([200, 201]).toContain(splitAnswers(again.text)[0]?.status as number);
    }
    const history = (await (await fetch(`${herald.url}/events?topic=pipelined`)).json()) as { events: Array<{ data: string }> };
    expect(history.events.map((e) => e.data)).toEqual(["0", "1", "2"]);
  });

  test("HTTP/1.0: answered and closed; a stream flows without chunked coding and is forgotten when the client leaves", async () => {
    const health = await rawRequest(herald.port, "GET /health HTTP/1.0\r\n\r\n");
    expect(health.closed).toBe(true);
    expect(splitAnswers(health.text)[0]?.status).toBe(200);
    await fetch(`${herald.url}/topics/old/events`, { method: "POST", body: "hello over 1.0" });
    const stream = await rawRequest(herald.port, "GET /stream?topic=old HTTP/1.0\r\nLast-Event-ID: 0\r\n\r\n", {
      until: (t) => t.includes("data: hello over 1.0\n\n"),
    });
    expect(stream.text).not.toMatch(/transfer-encoding/i);
    expect(stream.text).toContain("retry: 2000\n: herald\n\nid: ");
    await eventually(async () => (await subscribers()) === 0, 2000);
  });

  test("half-close: a request then FIN is answered; a half-closed stream ends and is forgotten", async () => {
    const health = await rawRequest(herald.port, GET("/health"), { halfClose: true, until: oneAnswer });
    expect(splitAnswers(health.text)[0]?.status).toBe(200);
    // Bun treats the client's FIN as the end of the connection: a stream cannot outlive it.
    const stream = await rawRequest(herald.port, GET("/stream?topic=old"), { halfClose: true });
    expect(stream.closed).toBe(true);
    await eventually(async () => (await subscribers()) === 0, 2000);
  });
});

interface Load {
  p99: number;
  /** The control server's p99 over the same moments. */
  control: number;
  /** PROBE_P99_MS, or twice the control's p99 on a machine so loaded that even a bare server misses it. */
  bound: number;
  rssGrowth: number;
  attacker: Record<string, unknown>;
}

const p99 = (latencies: number[]) =>
  latencies.sort((a, b) => a - b)[Math.floor(latencies.length * 0.99)] ?? Number.POSITIVE_INFINITY;

async function timed(url: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${url}/health`);
  await res.arrayBuffer();
  expect(res.status).toBe(200);
  return performance.now() - started;
}

/** Runs the attacker in its own process, at the lowest priority (its own CPU is not the hub's), while a
 * well-behaved client asks the hub and the control server in turn, one request at a time, every 10 ms. */
async function underAbuse(mode: string, seconds: number): Promise<Load> {
  const baseRss = herald.rss();
  let peakRss = baseRss;
  const attacker = Bun.spawn(
    [
      "sh",
      "-c",
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec nice -n 19 "$@"',
      "sh",
      process.execPath,
      ATTACKER,
      `--port=${herald.port}`,
      `--mode=${mode}`,
      `--connections=${CONNECTIONS}`,
      `--seconds=${seconds}`,
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  let done = false;
  const output = new Response(attacker.stdout).text().finally(() => {
    done = true;
  });
  // The attacker needs a moment to open its connections: probe what the hub does while they are all there.
  await Bun.sleep(1000);
  const abused: number[] = [];
  const idle: number[] = [];
  while (!done) {
    abused.push(await timed(herald.url));
    idle.push(await timed(control.url));
    peakRss = Math.max(peakRss, herald.rss());
    await Bun.sleep(10);
  }
  const controlP99 = p99(idle);
  const load = {
    p99: p99(abused),
    control: controlP99,
    bound: Math.max(PROBE_P99_MS, 2 * controlP99),
    rssGrowth: peakRss - baseRss,
    attacker: JSON.parse(await output) as Record<string, unknown>,
  };
  console.log(
    `abuse ${mode}: ${CONNECTIONS} connections, probe p99 ${load.p99.toFixed(1)} ms over ${abused.length} probes (bare control ${controlP99.toFixed(1)} ms, bound ${load.bound.toFixed(1)} ms), RSS +${(load.rssGrowth / 1048576).toFixed(1)} MiB`,
    JSON.stringify(load.attacker),
  );
  return load;
}

describe("under abuse the hub stays responsive and bounded", () => {
  test("thousands of connections sending headers a byte at a time: all cut by Bun's header timeout, probe p99 bounded", async () => {
    const load = await underAbuse("slowloris", 15);
    const a = load.attacker as { opened: number; cutByHub: number; answered: number; maxLifetimeMs: number | null };
    expect(a.opened).toBeGreaterThanOrEqual(CONNECTIONS);
    // Every first-wave connection was cut (Bun's ~10 s timeout for a request's headers), none was answered.
    expect(a.cutByHub).toBeGreaterThanOrEqual(CONNECTIONS);
    expect(a.answered).toBe(0);
    expect(load.p99).toBeLessThan(load.bound);
    expect(load.rssGrowth).toBeLessThan(RSS_GROWTH_BYTES);
  }, 40_000);

  test("idle connections beside oversized, pipelined, HTTP/1.0, half-closed and garbage requests: each answered as documented", async () => {
    const load = await underAbuse("mixed", 8);
    const cases = load.attacker.cases as Record<string, { ok: number; wrong: number }>;
    for (const [name, c] of Object.entries(cases)) {
      expect({ name, wrong: c.wrong }).toEqual({ name, wrong: 0 });
      expect(c.ok).toBeGreaterThan(0);
    }
    expect((load.attacker.idle as { opened: number }).opened).toBeGreaterThanOrEqual(CONNECTIONS);
    expect(load.p99).toBeLessThan(load.bound);
    expect(load.rssGrowth).toBeLessThan(RSS_GROWTH_BYTES);
    await eventually(async () => (await subscribers()) === 0, 2000);
  }, 40_000);
});
