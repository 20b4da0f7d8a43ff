/**
 * Notices of live state (Mercure's subscription events) on a stream, in process: whether the stream is replaying
 * or live, each goes out under the stream's place in the log, so every event up to that id came before it and
 * every later one after it: a client that reconnects with it resumes with nothing missed and nothing twice.
 */
import { afterAll, expect, test } from "bun:test";
import { Hub } from "../src/hub/hub";
import { SqliteEventLog } from "../src/log/sqlite/sqlite-log";
import { createLogger } from "../src/logger";
import { Metrics } from "../src/metrics";
import { parseSelectors } from "../src/names";
import { noticeFrame } from "../src/sse/encode";
import { removeDir, tempDir } from "./support/herald";

const dir = tempDir();
afterAll(() => removeDir(dir));

test("a notice, during replay or live, comes after every event up to its id and before every later one", async () => {
  const log = SqliteEventLog.open(`${dir}/notices.db`, "normal", createLogger("error"));
  const hub = new Hub(
    log,
    { retryMs: 1000, heartbeatMs: 60_000, subscriberBufferBytes: 64 << 20, maxSubscribers: 10 },
    createLogger("error"),
    new Metrics(),
  );
  for (let b = 0; b < 5; b++) {
    await hub.publish(
      Array.from({ length: 1000 }, (_, i) => ({ topic: i % 2 ? "t" : "other", event: null, data: `"${b}.${i}"` })),
    );
  }
  const sub = hub.open({
    selectors: parseSelectors(["t"]),
    form: "data",
    resumeFrom: { value: 0, text: "0" },
    signal: new AbortController().signal,
  });
  const notice = (position: number) => noticeFrame(position, "data", "notice", "{}");
  const reader = sub.stream.getReader();
  let text = new TextDecoder().decode((await reader.read()).value);
  // Replaying (five pages of a thousand events to go): held until the page under way is written.
  sub.notify(notice);
  sub.notify(notice);
  let last = 0;
  const publishing = (async () => {
    for (let i = 0; i < 20; i++) {
      await hub.publish([{ topic: "t", event: null, data: `"live ${i}"` }]);
      if (i % 5 === 0) sub.notify(notice);
      last = log.lastId();
    }
  })();
  while (!text.includes("data: live 19\n")) text += new TextDecoder().decode((await reader.read()).value);
  await publishing;
  sub.notify(notice);
  text += new TextDecoder().decode((await reader.read()).value);

  const frames = text.split("\n\n").filter((f) => f.startsWith("id: "));
  const ids = frames.map((f) => Number(/^id: (\d+)/.exec(f)?.[1]));
  const notices = frames.flatMap((f, i) => (f.includes("event: notice") ? [i] : []));
  expect(notices.length).toBe(7);
  for (const at of notices) {
    const id = ids[at] as number;
    const events = frames.map((f, i) => ({ f, id: ids[i] as number })).filter((x) => !x.f.includes("event: notice"));
    const before = frames.slice(0, at).filter((f) => !f.includes("event: notice")).length;
    // Exactly the events up to the notice's id precede it.
    expect(events.filter((e) => e.id <= id).length).toBe(before);
  }
  expect(ids[notices[notices.length - 1] as number]).toBe(last);
  await hub.drain();
  await log.close();
});
