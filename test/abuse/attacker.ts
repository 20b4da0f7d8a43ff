/**
 * Abusive clients, in a process of their own so their work does not skew the probe's timings:
 * `slowloris` keeps N connections sending request headers one byte at a time (reconnecting when cut);
 * `mixed` holds N idle connections while workers send oversized headers and URLs, pipelined bursts,
 * HTTP/1.0 requests, half-closes and garbage, checking every answer. Prints a JSON summary at the end.
 */

import { parseArgs } from "node:util";
import type { Socket } from "bun";
import { rawRequest, splitAnswers } from "../support/raw-client";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    mode: { type: "string", default: "slowloris" },
    connections: { type: "string", default: "2000" },
    seconds: { type: "string", default: "10" },
  },
});
const port = Number(values.port);
const connections = Number(values.connections);
const endAt = Date.now() + Number(values.seconds) * 1000;
const running = () => Date.now() < endAt;

/** Holds `n` connections, each sending `request` a byte per `everyMs` (never finishing if it is long); reconnects when cut. */
async function trickle(n: number, request: string, everyMs: number) {
  const stats = { opened: 0, cutByHub: 0, answered: 0, lifetimes: [] as number[], refused: 0 };
  const open = new Set<{ socket: Socket; sent: number; since: number }>();
  const connect = async () => {
    const conn = { socket: undefined as unknown as Socket, sent: 0, since: Date.now() };
    try {
      conn.socket = await Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          data: () => {
            stats.answered++;
          },
          close: () => {
            if (!open.delete(conn)) return;
            stats.cutByHub++;
            stats.lifetimes.push(Date.now() - conn.since);
            if (running()) void connect();
          },
        },
      });
      stats.opened++;
      open.add(conn);
    } catch {
      stats.refused++;
    }
  };
  await Promise.all(Array.from({ length: n }, connect));
  // One timer for all: each tick feeds a slice of the connections, so each gets a byte every `everyMs`.
  const tickMs = 50;
  let turn = 0;
  const ticker = setInterval(() => {
    const slices = Math.max(1, Math.round(everyMs / tickMs));
    let i = 0;
    for (const conn of open) {
      if (i++ % slices !== turn % slices) continue;
      if (conn.sent < request.length) conn.socket.write(request[conn.sent++] as string);
    }
    turn++;
  }, tickMs);
  while (running()) await Bun.sleep(50);
  clearInterval(ticker);
  const held = open.size;
  for (const conn of [...open]) {
    open.delete(conn);
    conn.socket.end();
  }
  const sorted = stats.lifetimes.sort((a, b) => a - b);
  return {
    ...stats,
    lifetimes: undefined,
    heldAtEnd: held,
    medianLifetimeMs: sorted[Math.floor(sorted.length / 2)] ?? null,
    maxLifetimeMs: sorted[sorted.length - 1] ?? null,
  };
}

const BUN_400 = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
const BUN_431 = "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n";
const GET = (path: string, version = "1.1") => `GET ${path} HTTP/${version}\r\nHost: x\r\n\r\n`;
const isJsonError = (a: { status: number; headers: string; body: string } | undefined, status: number, code: string) =>
  a?.status === status &&
  /content-type: application\/json/i.test(a.headers) &&
  (JSON.parse(a.body) as { error: { code: string } }).error.code === code;

/** Each case sends one kind of abuse and says whether the answer was the documented one. */
const CASES: Record<string, () => Promise<boolean>> = {
  hugeHeader: async () =>
    (await rawRequest(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(32 * 1024)}\r\n\r\n`)).text === BUN_431,
  hugeUrl: async () => (await rawRequest(port, GET(`/events?topic=${"a".repeat(32 * 1024)}`))).text === BUN_431,
  longSelector: async () => {
    const a = await rawRequest(port, GET(`/events?topic=${"a".repeat(8 * 1024)}`), {
      until: (t) => splitAnswers(t).length === 1,
    });
    return isJsonError(splitAnswers(a.text)[0], 400, "invalid_selector");
  },
  pipelined: async () => {
    const a = await rawRequest(port, GET("/health").repeat(20), { until: (t) => splitAnswers(t).length === 20 });
    const answers = splitAnswers(a.text);
    return answers.length === 20 && answers.every((x) => x.status === 200);
  },
  http10: async () => {
    const a = await rawRequest(port, "GET /health HTTP/1.0\r\n\r\n");
    return a.closed && splitAnswers(a.text)[0]?.status === 200;
  },
  halfClose: async () => {
    const a = await rawRequest(port, GET("/health"), { halfClose: true });
    return splitAnswers(a.text)[0]?.status === 200;
  },
  garbage: async () => (await rawRequest(port, "\u0016\u0003\u0001\u0000\u00a5\u0001 not http\r\n\r\n")).text === BUN_400,
  badHeaderLine: async () =>
    (await rawRequest(port, "GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")).text === BUN_400,
  badLastEventId: async () => {
    const a = await rawRequest(port, "GET /stream?topic=abuse HTTP/1.1\r\nHost: x\r\nLast-Event-ID: -1\r\n\r\n", {
      until: (t) => splitAnswers(t).length === 1,
    });
    return isJsonError(splitAnswers(a.text)[0], 400, "invalid_event_id");
  },
  badJson: async () => {
    const body = '{"data":';
    const a = await rawRequest(
      port,
      `POST /topics/abuse/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      {
        until: (t) => splitAnswers(t).length === 1,
      },
    );
    return isJsonError(splitAnswers(a.text)[0], 400, "invalid_json");
  },
  streamOpenClose: async () =>
    (await rawRequest(port, GET("/stream?topic=abuse"), { until: (t) => t.includes(": herald\n\n") })).text.includes("retry: "),
};

async function mixed(idle: number) {
  const idleConnections = trickle(idle, "", 1000);
  const results: Record<string, { ok: number; wrong: number }> = {};
  const worker = async () => {
    const names = Object.keys(CASES);
    for (let i = Math.floor(Math.random() * names.length); running(); i++) {
      const name = names[i % names.length] as string;
      const ok = await (CASES[name] as () => Promise<boolean>)().catch(() => false);
      const r = results[name] ?? { ok: 0, wrong: 0 };
      results[name] = r;
      if (ok) r.ok++;
      else r.wrong++;
      // Abuse of the connection, not a flood of work: a flood would measure the cores, not the hub.
      await Bun.sleep(5);
    }
  };
  await Promise.all(Array.from({ length: 2 }, worker));
  return { idle: await idleConnections, cases: results };
}

const header = `GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: ${"a".repeat(400)}\r\n\r\n`;
const summary = values.mode === "slowloris" ? await trickle(connections, header, 500) : await mixed(connections);
console.log(JSON.stringify(summary));
process.exit(0);
