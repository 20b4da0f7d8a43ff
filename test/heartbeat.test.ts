import { afterAll, beforeAll, expect, test } from "bun:test";
import { dispose, type Herald, publish, startHerald } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";

let herald: Herald;
beforeAll(async () => {
  // Longer than the server's 10 s idle timeout for ordinary requests: only the stream's own opt-out keeps it open.
  herald = await startHerald({ env: { HERALD_HEARTBEAT_MS: "14000" } });
});
afterAll(() => dispose(herald));

test("an idle stream is still open after 15 s, with heartbeats seen, and still delivers", async () => {
  const r = await SseReader.open(streamUrl(herald.url, ["quiet"]));
  await r.until((x) => x.retry !== undefined);
  const opening = r.comments.length;
  await Bun.sleep(16_000);
  expect(r.ended).toBe(false);
  expect(r.comments.length).toBeGreaterThan(opening);
  const { id } = await publish(herald.url, "quiet", "still here");
  await r.count(1);
  expect(r.events[0]).toEqual({ id, data: "still here" });
  r.close();
}, 30_000);
