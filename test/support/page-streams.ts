/**
 * The browser's own EventSource in a page, recording what it dispatches: each stream's `open` and `error`
 * counts and every event with the listener it reached, its `lastEventId` and its data, read from the test side.
 */
import type { Page } from "playwright-core";
import { eventually } from "./wait";

/** One event as a page's listener got it. */
export interface Received {
  /** The listener it was dispatched to: `message`, or the event's type. */
  readonly type: string;
  readonly id: string;
  readonly data: string;
}

interface StreamState {
  readonly opens: number;
  readonly errors: number;
  readonly readyState: number;
  readonly events: Received[];
}

// Runs in the page, as source text (the tests' TypeScript has no DOM types). Evaluated through the DevTools
// protocol, which the page's CSP does not govern; the streams it opens are the page's own, under its CSP.
const RECORDER = `(() => {
  if (window.heraldStreams) return;
  const streams = new Map();
  window.heraldStreams = {
    open(name, url, types) {
      const source = new EventSource(url);
      const state = { source, opens: 0, errors: 0, events: [] };
      source.addEventListener("open", () => state.opens++);
      source.addEventListener("error", () => state.errors++);
      for (const type of ["message", ...types]) {
        source.addEventListener(type, (e) => state.events.push({ type: e.type, id: e.lastEventId, data: e.data }));
      }
      streams.set(name, state);
    },
    state(name) {
      const { source, opens, errors, events } = streams.get(name);
      return { opens, errors, readyState: source.readyState, events };
    },
    close(name) {
      streams.get(name).source.close();
    },
  };
})()`;

let count = 0;

/** An EventSource the page opened: what it received, and waits on that from the test side. */
export class PageStream {
  private constructor(
    private readonly page: Page,
    private readonly name: string,
  ) {}

  /**
   * Opens `new EventSource(url)` in `page` with a listener for `message` and for each of `types` (an event
   * whose type has no listener is dropped by the browser), and waits for its `open`.
   */
  static async open(page: Page, url: string, types: readonly string[] = []): Promise<PageStream> {
    const name = `s${++count}`;
    await page.evaluate(RECORDER);
    await page.evaluate(`window.heraldStreams.open(${JSON.stringify(name)}, ${JSON.stringify(url)}, ${JSON.stringify(types)})`);
    const stream = new PageStream(page, name);
    await stream.until((s) => s.opens > 0);
    return stream;
  }

  state(): Promise<StreamState> {
    return this.page.evaluate(`window.heraldStreams.state(${JSON.stringify(this.name)})`) as Promise<StreamState>;
  }

  async events(): Promise<Received[]> {
    return (await this.state()).events;
  }

  /** Waits until the stream's state satisfies `check`. */
  async until(check: (s: StreamState) => boolean, ms = 15_000): Promise<StreamState> {
    let last: StreamState | undefined;
    await eventually(async () => {
      last = await this.state();
      return check(last);
    }, ms).catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(last)}`);
    });
    return last as StreamState;
  }

  /** Waits for the event `id` and answers every event so far: a duplicate of an earlier one would show before it. */
  async through(id: string): Promise<Received[]> {
    return (await this.until((s) => s.events.some((e) => e.id === id))).events;
  }

  close(): Promise<void> {
    return this.page.evaluate(`window.heraldStreams.close(${JSON.stringify(this.name)})`) as Promise<void>;
  }
}
