import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type Herald, history, removeDir, startHerald, tempDir, testLog } from "./support/herald";
import { publishers } from "./support/load";
import { SseReader, streamUrl } from "./support/sse";
import { eventually } from "./support/wait";

const ENTRY = join(import.meta.dir, "..", "src", "index.ts");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeDir(d);
});

async function allEvents(h: Herald): Promise<Map<string, unknown>> {
  return new Map((await history(h.url)).map((e) => [e.id, e.data]));
}

describe("lifecycle", () => {
  test("SIGKILL mid-load with 8 publishers: every acknowledged event survives with its id, new ids are larger", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const h = await startHerald({ dir });
    const load = publishers(() => [h], 8);
    await eventually(() => load.acked.size > 100, 20_000);
    await h.kill();
    await load.stop();

    const again = await startHerald({ dir });
    const stored = await allEvents(again);
    for (const [id, data] of load.acked) expect(stored.get(id)).toBe(data);
    const maxAcked = Math.max(...[...load.acked.keys()].map(Number));
    const res = await fetch(`${again.url}/topics/after/events`, { method: "POST", body: "x" });
    expect(Number(((await res.json()) as { id: string }).id)).toBeGreaterThan(maxAcked);
    expect(await again.stop()).toBe(0);
  }, 30_000);

  test("SIGTERM with open streams and running publishers: clean stream ends, exit 0 within 5 s, nothing acknowledged lost", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const h = await startHerald({ dir });
    const readers = await Promise.all(Array.from({ length: 5 }, () => SseReader.open(streamUrl(h.url, ["load.*"]))));
    const load = publishers(() => [h], 4);
    await eventually(() => load.acked.size > 20, 20_000);
    const t0 = Date.now();
    const code = await h.stop();
    const elapsed = Date.now() - t0;
    await load.stop();
    expect(code).toBe(0);
    expect(elapsed).toBeLessThan(5000);
    for (const r of readers) {
      await r.until((x) => x.ended, 2000);
      // A proper end of the chunked response, not a reset, and not in the middle of an event.
      expect(r.endedCleanly).toBe(true);
      expect(r.raw.endsWith("\n\n")).toBe(true);
    }
    expect(h.lines.some((l) => l.includes('"msg":"herald stopped"'))).toBe(true);

    const again = await startHerald({ dir });
    const stored = await allEvents(again);
    for (const [id, data] of load.acked) expect(stored.get(id)).toBe(data);
    expect(await again.stop()).toBe(0);
  }, 30_000);

  test("SIGINT (Ctrl-C) stops the hub as SIGTERM does: clean stream ends, exit 0 within 5 s", async () => {
    const h = await startHerald();
    dirs.push(h.dir);
    const reader = await SseReader.open(streamUrl(h.url, ["interrupt"]));
    await reader.until((x) => x.retry !== undefined);
    const t0 = Date.now();
    h.proc.kill("SIGINT");
    expect(await h.proc.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    await reader.until((x) => x.ended, 2000);
    expect(reader.endedCleanly).toBe(true);
    // stdout is read on its own: its last line may come in after the exit.
    await eventually(() => h.lines.some((l) => l.includes('"msg":"herald stopped"')));
  }, 15_000);

  test("while draining, /health is 503 and a new stream gets its retry and a clean end (an EventSource never retries a 503)", async () => {
    const h = await startHerald();
    dirs.push(h.dir);
    // A publish whose body has not all arrived holds the server open while it drains. Its `Expect: 100-continue`
    // is answered once the server has taken the request: from then on it is in flight.
    let answer = "";
    const inFlight = await Bun.connect({
      hostname: "127.0.0.1",
      port: h.port,
      socket: {
        open: (s) =>
          void s.write("POST /topics/slow/events HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nExpect: 100-continue\r\n\r\n"),
        data: (_s, chunk) => {
          answer += chunk.toString();
        },
      },
    });
    await eventually(() => answer.includes("100 Continue"));
    h.proc.kill("SIGTERM");
    await eventually(() => h.lines.some((l) => l.includes('"msg":"herald stopping"')));
    const health = await fetch(`${h.url}/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { status: string }).status).toBe("draining");
    for (const url of [streamUrl(h.url, ["x"]), `${h.url}/.well-known/mercure?match=x`]) {
      const stream = await fetch(url);
      expect(stream.status).toBe(200);
      expect(stream.headers.get("content-type")).toBe("text/event-stream");
      // The whole body, ended properly: the opening `retry:` and comment, and nothing after them.
      expect(await stream.text()).toMatch(/^retry: 2000\n:[^\n]*\n\n$/);
    }
    const publish = await fetch(`${h.url}/topics/x/events`, { method: "POST", body: "late" });
    expect(publish.status).toBe(503);
    expect(publish.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await publish.json()) as { error: { code: string } }).error.code).toBe("shutting_down");
    inFlight.write("partial");
    expect(await h.proc.exited).toBe(0);
    inFlight.end();
  }, 15_000);

  test("--help lists every setting with its default", () => {
    const out = Bun.spawnSync([process.execPath, ENTRY, "--help"]).stdout.toString();
    for (const line of [
      "--port",
      "PORT",
      "8080",
      "HERALD_SYNC",
      "full",
      "HERALD_RETENTION_MAX_AGE",
      "7d",
      "HERALD_SUBSCRIBER_BUFFER_BYTES",
    ]) {
      expect(out).toContain(line);
    }
  });

  test("bad settings stop start-up with a clear message", () => {
    const run = Bun.spawnSync([process.execPath, ENTRY], { env: { ...process.env, HERALD_SYNC: "sometimes", PORT: "0" } });
    expect(run.exitCode).toBe(2);
    expect(run.stderr.toString()).toContain("HERALD_SYNC must be one of full, normal");
  });

  test("logs are JSON lines; the start line has the settings with secrets redacted", async () => {
    const h = await startHerald({ env: { HERALD_JWT_SECRET: "s3cr3t-value-long-enough-for-hs256", HERALD_LOG_LEVEL: "debug" } });
    dirs.push(h.dir);
    await fetch(`${h.url}/health?access_token=abc.def.ghi`);
    // The request line is written after the response: wait for it rather than race the stop.
    await eventually(() => h.lines.some((l) => l.includes('"msg":"request"') && l.includes('"path":"/health"')));
    await h.stop();
    for (const line of h.lines.filter((l) => l.trim() !== "")) JSON.parse(line);
    const startLine = JSON.parse(h.lines.find((l) => l.includes("herald started")) as string) as {
      settings: Record<string, unknown>;
    };
    expect(startLine.settings.jwtSecret).toBe("[redacted]");
    expect(startLine.settings.sync).toBe("full");
    expect(h.lines.join("\n")).not.toContain("s3cr3t-value-long-enough-for-hs256");
    expect(h.lines.some((l) => l.includes('"msg":"request"') && l.includes('"path":"/health"'))).toBe(true);
    expect(h.lines.join("\n")).not.toContain("abc.def.ghi");
  });

  test("metrics move when events flow", async () => {
    const h = await startHerald();
    dirs.push(h.dir);
    const value = async (name: string) => {
      const text = await (await fetch(`${h.url}/metrics`)).text();
      return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
    };
    expect(await value("herald_events_published_total")).toBe(0);
    const r = await SseReader.open(streamUrl(h.url, ["m"]));
    await r.until((x) => x.retry !== undefined);
    expect(await value("herald_subscribers")).toBe(1);
    for (let i = 0; i < 5; i++) await fetch(`${h.url}/topics/m/events`, { method: "POST", body: "x" });
    await r.count(5);
    expect(await value("herald_events_published_total")).toBe(5);
    expect(await value("herald_events_delivered_total")).toBe(5);
    expect(await value("herald_publish_duration_seconds_count")).toBe(5);
    expect(await value("herald_events_retained")).toBe(5);
    // The log's size, named for what it measures: the SQLite file, or the memory of the Redis instance.
    const size = testLog === "redis" ? "herald_redis_used_memory_bytes" : "herald_database_size_bytes";
    expect(await value(size)).toBeGreaterThan(0);
    const text = await (await fetch(`${h.url}/metrics`)).text();
    expect(text).toContain("# TYPE herald_publish_duration_seconds histogram");
    expect(text).toContain('herald_publish_duration_seconds_bucket{le="+Inf"} 5');
    expect(text).toContain("herald_slow_subscribers_dropped_total 0");
    r.close();
    await h.stop();
  });
});
