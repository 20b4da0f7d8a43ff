import { afterAll, describe, expect, test } from "bun:test";
import { TIMER_MAX_MS } from "../src/timers";
import { boot, expectRefusal } from "./support/boot";
import { dispose, type Herald, publish, startHerald } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

const hubs: Herald[] = [];
afterAll(async () => {
  for (const h of hubs) await dispose(h);
});

async function start(env: Record<string, string>): Promise<Herald> {
  const h = await startHerald({ env });
  hubs.push(h);
  return h;
}

describe("a value out of range stops start-up with one herald: line and exit 2", () => {
  test.each([
    [{ PORT: "99999" }, [], /PORT is out of range: 0 to 65535/],
    [{}, ["--port", "70000"], /--port is out of range: 0 to 65535/],
    // Past 2^31-1 ms a timer fires at once, over and over: a heartbeat every millisecond.
    [{ HERALD_HEARTBEAT_MS: "3000000000" }, [], /HERALD_HEARTBEAT_MS is out of range: 100 to 2073600000/],
    [{ HERALD_RETRY_MS: "2147483648" }, [], /HERALD_RETRY_MS is out of range/],
    [{ HERALD_SUBSCRIBER_BUFFER_BYTES: "-4096" }, [], /HERALD_SUBSCRIBER_BUFFER_BYTES is out of range/],
    [{ HERALD_MAX_EVENT_BYTES: "0" }, [], /HERALD_MAX_EVENT_BYTES is out of range/],
    [{ HERALD_RETENTION_MAX_AGE: "40000d" }, [], /HERALD_RETENTION_MAX_AGE is out of range/],
    // "7" meant as days would keep events for 7 ms: a duration needs its unit.
    [{ HERALD_RETENTION_MAX_AGE: "7" }, [], /HERALD_RETENTION_MAX_AGE needs a unit: 0 \(no age limit\), or 1ms to/],
    [{}, ["--max-stream-age", "3600"], /--max-stream-age needs a unit/],
    [{ HERALD_MAX_STREAM_AGE: "1 h" }, [], /HERALD_MAX_STREAM_AGE must be a duration/],
    [{ HERALD_MAX_SUBSCRIBERS: "99999999999999999999" }, [], /HERALD_MAX_SUBSCRIBERS is out of range/],
  ] as const)("%o %o", async (env, args, message) => {
    expectRefusal(await boot(env, [...args]), message);
  });

  test("the longest heartbeat allowed is a real timer, not one that fires at once", async () => {
    const h = await start({ HERALD_HEARTBEAT_MS: String(TIMER_MAX_MS) });
    const r = await SseReader.open(streamUrl(h.url, ["quiet"]));
    await r.until((x) => x.retry !== undefined);
    const opening = r.comments.length;
    await publish(h.url, "quiet", "one");
    await r.count(1);
    // An overflowing interval would have written many comments by the time the event went round trip.
    expect(r.comments.length).toBe(opening);
    r.close();
  });

  test("--help lists each setting's range", async () => {
    const run = Bun.spawnSync([process.execPath, "src/index.ts", "--help"], { cwd: `${import.meta.dir}/..` });
    const help = run.stdout.toString();
    expect(run.exitCode).toBe(0);
    expect(help).toContain("range: 0 to 65535");
    expect(help).toContain("range: 100 to 2073600000 (milliseconds, at most 24d)");
    expect(help).toContain("range: 0 (no age limit), or 1ms to 36500d");
    expect(help).toContain("range: unset, or at least 32 bytes");
    expect(help.match(/range: /g)?.length).toBe(help.match(/^ {2}--(?!help)/gm)?.length);
  });
});

describe("a listener that cannot be opened stops start-up with one herald: line and exit 2", () => {
  test("a port already in use", async () => {
    const taken = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("someone else") });
    try {
      expectRefusal(
        await boot({ PORT: String(taken.port) }),
        new RegExp(`127\\.0\\.0\\.1:${taken.port}: the port is already in use`),
      );
    } finally {
      await taken.stop(true);
    }
  });

  test("a host that does not resolve", async () => {
    expectRefusal(await boot({ HOST: "no-such-host.invalid" }), /HOST "no-such-host.invalid" cannot be resolved/);
  });

  test("an address that is not this machine's", async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned to a real interface.
    expectRefusal(
      await boot({ HOST: "192.0.2.1" }),
      /cannot listen on 192\.0\.2\.1:0: 192\.0\.2\.1 is not an address of this machine/,
    );
  });
});

test("unknown HERALD_* variables are named in one start-up warning; the ones Herald reads are not", async () => {
  const outcome = await boot({
    HERALD_RETENTON_MAX_AGE: "1d",
    HERALD_FROM_THE_FUTURE: "1",
    HERALD_TEST_SOMETHING: "the test suite's own switch",
    HERALD_URL: "http://the-hub-an-example-talks-to",
    HERALD_LOG_LEVEL: "info",
  });
  expect(outcome.started).toBe(true);
  const warnings = outcome.lines.filter((l) => l.includes("unknown HERALD_* variables"));
  expect(warnings).toHaveLength(1);
  const warning = JSON.parse(warnings[0] as string) as { level: string; variables: string[]; didYouMean: Record<string, string> };
  expect(warning.level).toBe("warn");
  expect(warning.variables).toContain("HERALD_RETENTON_MAX_AGE");
  expect(warning.variables).toContain("HERALD_FROM_THE_FUTURE");
  expect(warning.variables).not.toContain("HERALD_TEST_SOMETHING");
  expect(warning.variables).not.toContain("HERALD_URL");
  expect(warning.variables).not.toContain("HERALD_LOG_LEVEL");
  expect(warning.variables).not.toContain("HERALD_DB");
  expect(warning.didYouMean).toMatchObject({ HERALD_RETENTON_MAX_AGE: "HERALD_RETENTION_MAX_AGE" });
});

const hasIpv6Loopback = (() => {
  try {
    Bun.serve({ port: 0, hostname: "::1", fetch: () => new Response() }).stop(true);
    return true;
  } catch {
    return false;
  }
})();

test.skipIf(!hasIpv6Loopback)("the start-up URL of an IPv6 host has brackets, and it works", async () => {
  const h = await start({ HOST: "::1" });
  const line = h.lines.find((l) => l.includes("herald started")) as string;
  const url = (JSON.parse(line) as { url: string }).url;
  expect(url).toBe(`http://[::1]:${h.port}`);
  expect((await fetch(`${url}/health`)).status).toBe(200);
});

test("HERALD_RETENTION_MAX_AGE=0 keeps events of any age", async () => {
  // The count limit shows that retention has swept: once it trimmed `busy`, the age rule has run too.
  const h = await start({ HERALD_RETENTION_MAX_AGE: "0", HERALD_RETENTION_MAX_EVENTS: "2" });
  const { id: old } = await publish(h.url, "quiet", "kept for ever");
  for (let i = 0; i < 3; i++) await publish(h.url, "busy", i);
  const history = async (topic: string) =>
    ((await (await fetch(`${h.url}/events?topic=${topic}`)).json()) as { events: Array<{ id: string }> }).events;
  await eventually(async () => (await history("busy")).length === 2);
  expect((await history("quiet")).map((e) => e.id)).toEqual([old]);
});
