/** The SQLite log read on a connection of its own, beside the one writer: a worker thread's reads (WAL readers never wait for it). */
import type { Database } from "bun:sqlite";
import type { Selector } from "../../names";
import type { FramedPage, LoggedEvent, LogReads, ReadRange, TopicRange, TopicSummary } from "../event-log";
import { faultError, type LogFault } from "../faults";
import { openReadConnection } from "./database";
import { sqliteFault } from "./faults";
import { SqliteReader } from "./reader";

export class SqliteReads implements LogReads {
  private readonly db: Database;
  private readonly reader: SqliteReader;

  /**
   * @param head the highest id this thread has announced: a read never looks past it
   * @param onFault told of a store failure a read ran into (the writer's fault state takes it, and its probe clears it)
   */
  constructor(
    path: string,
    head: () => number,
    private readonly onFault: (fault: LogFault) => void,
  ) {
    this.db = openReadConnection(path);
    this.reader = new SqliteReader(this.db, head);
  }

  read(range: ReadRange): Promise<LoggedEvent[]> {
    return this.reading(() => this.reader.read(range));
  }

  readFramed(range: ReadRange, idPrefix: string): Promise<FramedPage | undefined> {
    return this.reading(() => this.reader.framed(range, idPrefix));
  }

  findPublisherId(publisherId: string): Promise<number | undefined> {
    return this.reading(() => this.reader.findPublisherId(publisherId));
  }

  prunedThrough(selectors: readonly Selector[]): Promise<number> {
    return this.reading(() => this.reader.prunedThrough(selectors));
  }

  topics(range: TopicRange): Promise<TopicSummary[]> {
    return this.reading(() => this.reader.topics(range));
  }

  publicSummary(topic: string): Promise<TopicSummary | undefined> {
    return this.reading(() => this.reader.publicSummary(topic));
  }

  retained(): Promise<number> {
    return this.reading(() => this.reader.retained());
  }

  close(): void {
    this.db.close();
  }

  private async reading<T>(read: () => T | Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      const fault = sqliteFault(error);
      if (!fault) throw error;
      this.onFault(fault);
      throw faultError(fault);
    }
  }
}
