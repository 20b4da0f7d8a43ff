/** The bench's event: about 100 bytes on the wire, stamped with when it was due so receivers can time it. */

export const TOPIC = "bench";
const PAD = "x".repeat(60);

/** Event data; `t` is performance.now() in the load generator, the process that also receives it. */
export function eventData(t: number): string {
  return `{"t":${t.toFixed(3)},"p":"${PAD}"}`;
}

/** The body of POST /topics/{topic}/events. */
export function publishBody(t: number): string {
  return `{"data":${eventData(t)}}`;
}

/** The body of POST /events with `size` events on the bench topic. */
export function batchBody(size: number, t = 0): string {
  const one = `{"topic":"${TOPIC}","data":${eventData(t)}}`;
  return `{"events":[${Array.from({ length: size }, () => one).join(",")}]}`;
}
