/**
 * How the Mercure fuzz reads a stream it publishes no fence to: such a stream never says it is done, so the fuzz
 * must not judge it before the events it must send have come, however many events it may send come with them.
 */
import { expect, test } from "bun:test";
import { deliver, type Frame, fits } from "./support/mercure-fuzz-check";
import type { LoggedUpdate } from "./support/mercure-fuzz-model";
import type { Subscription } from "./support/mercure-fuzz-oracle";
import { readUnfenced } from "./support/mercure-fuzz-stream";
import { FUZZ_AUDIENCE } from "./support/mercure-fuzz-tokens";
import { template } from "./support/mercure-fuzz-topics";
import { SseReader } from "./support/sse";

const hubUrl = new URL(FUZZ_AUDIENCE);
const encoder = new TextEncoder();

/** A stream written by hand: `first` at once, then what the test sends, where it chooses to split a replay. */
function handWritten(first: string) {
  let send: (text: string) => void = () => {};
  const server = Bun.serve({
    port: 0,
    fetch: () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            send = (text) => controller.enqueue(encoder.encode(text));
            send(first);
          },
        }),
        { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } },
      ),
  });
  return { url: server.url.href, send: (text: string) => send(text), stop: () => server.stop(true) };
}

const update = (id: number, topic: string): LoggedUpdate => ({
  id,
  time: new Date(0).toISOString(),
  topics: [topic],
  private: true,
  type: null,
  data: `update ${id}`,
});
const frame = (e: LoggedUpdate) => `id: urn:herald:${e.id}\ndata: ${e.data}\n\n`;

test("a stream without a fence is read until the events it must send have come, not until as many events came", async () => {
  // A URI template the oracle judges exactly only for plain values: a decomposed é is one it may match or not.
  const sub: Subscription = {
    matchers: [template("https://example.com/{+path}") as NonNullable<ReturnType<typeof template>>],
    covered: ["yes"],
    grants: [{ kind: "all" }],
    readable: [{ kind: "all" }],
    resume: ["earliest"],
  };
  const events = [update(1, "https://example.com/cafe\u0301"), update(2, "https://example.com/books/1")];
  const verdicts = events.map((e) => deliver(sub, e, hubUrl));
  expect(verdicts).toEqual(["maybe", "yes"]);
  const stream = handWritten(`retry: 2000\n\n${frame(events[0] as LoggedUpdate)}`);
  const reader = await SseReader.open(stream.url);
  try {
    const read = readUnfenced(reader, (got: readonly Frame[]) => fits(got, events, verdicts));
    // One event has come, as many as the stream must send: the one it must send is still to come.
    await reader.count(1);
    stream.send(frame(events[1] as LoggedUpdate));
    expect((await read).map((f) => f.id)).toEqual(["urn:herald:1", "urn:herald:2"]);
  } finally {
    reader.close();
    stream.stop();
  }
});
