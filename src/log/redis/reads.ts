/** The shared log read on a Redis connection of its own: a worker thread's reads, while the writer thread appends and tails. */
import type { Selector } from "../../names";
import type { LoggedEvent, LogReads, ReadRange, TopicRange, TopicSummary } from "../event-log";
import { faultError, isFaultError, type LogFault } from "../faults";
import { RedisConnection, redisFault } from "./connection";
import { logKeys } from "./keys";
import { RedisReader } from "./reader";
import type { RedisLogOptions } from "./redis-log";

export class RedisReads implements LogReads {
  private readonly connection: RedisConnection;
  private readonly reader: RedisReader;

  /** @param onFault told of a store failure a read ran into (the writer's fault state takes it, and its probe clears it) */
  constructor(options: Pick<RedisLogOptions, "url" | "prefix">, onFault: (fault: LogFault) => void) {
    this.connection = new RedisConnection(options.url);
    const call = async <T>(command: () => Promise<T>): Promise<T> => {
      try {
        return await command();
      } catch (error) {
        if (isFaultError(error)) throw error;
        const fault = redisFault(error);
        onFault(fault);
        throw faultError(fault);
      }
    };
    this.reader = new RedisReader(this.connection, logKeys(options.prefix), call);
  }

  read(range: ReadRange): Promise<LoggedEvent[]> {
    return this.reader.read(range);
  }

  findPublisherId(publisherId: string): Promise<number | undefined> {
    return this.reader.findPublisherId(publisherId);
  }

  prunedThrough(selectors: readonly Selector[]): Promise<number> {
    return this.reader.prunedThrough(selectors);
  }

  topics(range: TopicRange): Promise<TopicSummary[]> {
    return this.reader.topics(range);
  }

  publicSummary(topic: string): Promise<TopicSummary | undefined> {
    return this.reader.publicSummary(topic);
  }

  retained(): Promise<number> {
    return this.reader.retained();
  }

  close(): void {
    this.connection.close();
  }
}
