/**
 * When stream writes go out: a commit that reaches a few streams is written at the end of the task that handed
 * it over; one that reaches many waits for the next turn of the event loop, so the answers to its publishers
 * (microtasks of that task) go first.
 */
import { describe, expect, test } from "bun:test";
import { WriteCoalescer } from "../src/hub/coalescer";

/** Streams that note the order they were flushed in, among other events of the test. */
function streams(count: number, order: string[]) {
  return Array.from({ length: count }, (_, i) => ({ flush: () => order.push(`stream ${i}`) }));
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("the write coalescer", () => {
  test("a few streams are written before the task's later microtasks: at once", async () => {
    const order: string[] = [];
    const coalescer = new WriteCoalescer();
    for (const stream of streams(3, order)) coalescer.mark(stream);
    const answered = Promise.resolve().then(() => order.push("answer"));
    await answered;
    expect(order).toEqual(["stream 0", "stream 1", "stream 2", "answer"]);
  });

  test("many streams wait for the next turn: the answers go first", async () => {
    const order: string[] = [];
    const coalescer = new WriteCoalescer();
    const many = streams(100, order);
    for (const stream of many) coalescer.mark(stream);
    await Promise.resolve().then(() => order.push("answer"));
    await Promise.resolve();
    expect(order).toEqual(["answer"]);
    await nextTurn();
    expect(order).toEqual(["answer", ...many.map((_, i) => `stream ${i}`)]);
  });
});
