/** The shared log's reads: pages of events for selectors, what retention pruned, the topics. */
import type { Selector } from "../../names";
import {
  compareNames,
  dataSize,
  type LoggedEvent,
  nameRange,
  type ReadRange,
  type TopicRange,
  type TopicSummary,
} from "../event-log";
import type { Call } from "./appender";
import type { RedisConnection, Reply } from "./connection";
import { flatEvents } from "./entries";
import type { LogKeys } from "./keys";
import { scripts } from "./scripts";

const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;
/** Data one read call returns at most (with the event that reaches it), so one call holds Redis briefly. */
export const READ_BYTES = 1024 * 1024;
/** Log entries one read call filters at most when a selector matches too many topics to merge. */
const SCAN_BUDGET = 2000;

function split(selectors: readonly Selector[]): { exact: string[]; prefixes: string[] } {
  return {
    exact: selectors.filter((s) => !s.isPrefix).map((s) => s.value),
    prefixes: selectors.filter((s) => s.isPrefix).map((s) => s.value),
  };
}

/** ZRANGEBYLEX bounds of the names a selector matches after `after` (exclusive). */
function lexRange(selector: Selector, after: string): [string, string] {
  const { from, to } = nameRange(selector);
  const min = compareNames(after, from) >= 0 ? `(${after}` : `[${from}`;
  return [min, selector.isPrefix ? `(${to}` : `[${from}`];
}

/** The six values topics.lua gives a topic, from `at`: name, events, first and last id, last time, private events. */
function topicSummary(values: readonly Reply[], at: number): TopicSummary {
  return {
    topic: String(values[at]),
    events: Number(values[at + 1]),
    firstId: Number(values[at + 2]),
    lastId: Number(values[at + 3]),
    lastTime: Number(values[at + 4]),
    privateEvents: Number(values[at + 5]),
  };
}

export class RedisReader {
  /** `connection` is the reads' own, so a write that waits for replicas never holds a read. */
  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: LogKeys,
    private readonly call: Call,
  ) {}

  async read({ selectors, after, upTo = NO_UPPER_BOUND, limit, maxBytes = Number.POSITIVE_INFINITY }: ReadRange) {
    const { exact, prefixes } = split(selectors);
    const events: LoggedEvent[] = [];
    let cursor = after;
    // Each call reads a bounded slice; a sparse selector may take several before the page is full. The page
    // counts data as the seam does (string length), so it ends full or complete, never in between.
    let bytes = 0;
    while (events.length < limit && bytes < maxBytes && cursor < upTo) {
      const args = [this.keys.namespace, cursor, upTo, limit - events.length, Math.min(READ_BYTES, maxBytes - bytes)];
      const reply = (await this.call(() =>
        scripts.read.run(
          this.connection,
          [this.keys.log, this.keys.topics],
          [...args, SCAN_BUDGET, exact.length, ...exact, ...prefixes],
        ),
      )) as Reply[];
      cursor = Number(reply[0]);
      const slice = flatEvents(reply, 1);
      events.push(...slice);
      bytes += dataSize(slice);
    }
    return events;
  }

  async prunedThrough(selectors: readonly Selector[]): Promise<number> {
    const { exact, prefixes } = split(selectors);
    const k = this.keys;
    const reply = await this.call(() =>
      scripts.prunedThrough.run(this.connection, [k.pruned, k.prefixes, k.head], [exact.length, ...exact, ...prefixes]),
    );
    return Number(reply);
  }

  async topics({ selectors, after, limit }: TopicRange): Promise<TopicSummary[]> {
    const out: TopicSummary[] = [];
    let cursor = after;
    // A page may come back short of names (a topic emptied but not yet forgotten): the next one goes on from it.
    do {
      const ranges = selectors.flatMap((s) => lexRange(s, cursor));
      const page = (await this.call(() =>
        scripts.topics.run(
          this.connection,
          [this.keys.topics, this.keys.privates],
          [this.keys.namespace, limit - out.length, ...ranges],
        ),
      )) as Reply[];
      cursor = String(page[0]);
      for (let i = 1; i < page.length; i += 6) out.push(topicSummary(page, i));
    } while (out.length < limit && cursor !== "");
    return out;
  }

  async publicSummary(topic: string): Promise<TopicSummary | undefined> {
    const first = await this.publicEnd(topic, "XRANGE", "-");
    const last = first && (await this.publicEnd(topic, "XREVRANGE", "+"));
    if (!first || !last) return undefined;
    return { topic, events: first.events, firstId: first.id, lastId: last.id, lastTime: last.time, privateEvents: 0 };
  }

  /** The topic's first public event from one end, a short script call per step (Redis is never held for long). */
  private async publicEnd(topic: string, command: "XRANGE" | "XREVRANGE", from: string) {
    for (let cursor = from; cursor !== ""; ) {
      const [events, id, time, next] = (await this.call(() =>
        scripts.publicTopic.run(this.connection, [this.keys.privates], [this.keys.namespace, topic, command, cursor]),
      )) as [number, number, number, string];
      if (events <= 0) return undefined;
      if (id !== 0) return { events, id, time };
      cursor = next;
    }
    return undefined;
  }

  /** The first member for the publisher's id in byte order is its earliest retained event (see lib.lua); `:` follows the digits. */
  async findPublisherId(publisherId: string): Promise<number | undefined> {
    const from = `${publisherId}\n`;
    const [member] = (await this.call(() =>
      this.connection.send("ZRANGEBYLEX", [this.keys.ids, `[${from}`, `(${from}:`, "LIMIT", "0", "1"]),
    )) as string[];
    return member === undefined ? undefined : Number(member.slice(from.length));
  }

  async retained(): Promise<number> {
    return Number(await this.call(() => this.connection.send("XLEN", [this.keys.log])));
  }

  /** The newest id Redis has assigned. */
  async newestId(): Promise<number> {
    return Number(await this.call(() => this.connection.send("HGET", [this.keys.head, "id"])));
  }
}
