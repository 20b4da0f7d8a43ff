/**
 * Logging never takes the hub down: with stdout a pipe whose reader went away (`herald | head`, a stopped journal),
 * every write fails with EPIPE, and the hub must go on serving and still stop cleanly, exit code 0.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { removeDir, tempDir } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";

const ENTRY = join(import.meta.dir, "..", "src", "index.ts");

test("a hub whose stdout reader is gone keeps serving, logs a lot, and exits 0 on SIGTERM", async () => {
  const dir = tempDir();
  // Debug level: every request is a log line, so nearly everything the test does is a write to the closed pipe.
  const proc = Bun.spawn([process.execPath, ENTRY], {
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", HERALD_DB: join(dir, "herald.db"), HERALD_LOG_LEVEL: "debug" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    const stderr = new Response(proc.stderr).text();
    const reader = proc.stdout.getReader();
    let text = "";
    while (!/"url":"http:\/\/127\.0\.0\.1:\d+"/.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`herald did not start: ${text}`);
      text += new TextDecoder().decode(value);
    }
    const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(text)?.[1] as string;
    // The reader goes away: the pipe's read end is closed, and the hub's next write fails with EPIPE.
    await reader.cancel();

    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${url}/topics/closed/events`, { method: "POST", body: `event ${i}` });
      expect(res.status).toBe(201);
      expect((await fetch(`${url}/health`)).status).toBe(200);
    }
    const stream = await SseReader.open(streamUrl(url, ["closed"]), { "Last-Event-ID": "0" });
    await stream.count(200);
    expect(proc.exitCode).toBeNull();

    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(proc.signalCode).toBeNull();
    expect(await stderr).toBe("");
    await stream.until((r) => r.ended);
    expect(stream.endedCleanly).toBe(true);
  } finally {
    if (proc.exitCode === null) proc.kill("SIGKILL");
    removeDir(dir);
  }
});
