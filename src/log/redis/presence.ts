/**
 * Presence shared through Redis. Each node keeps its own streams in a hash of its own that expires with the
 * node's liveness key; a beat refreshes both and forgets the nodes whose liveness ran out. Each batch of opens
 * and closes is written to the node's hash and told on a feed (a stream every node tails) under the node's next
 * version, so a node that missed a change (the feed trimmed past it, Redis out of reach) sees the gap and reads
 * that hash whole. Every node mirrors the others: listing and counting never ask Redis. Redis failing changes
 * nothing for streams and publishes: presence keeps what it last knew and catches up once Redis is back.
 */
import type { Logger } from "../../logger";
import type { PresenceExchange, PresenceHandlers, SharedSubscription } from "../presence-exchange";
import { COMMAND_TIMEOUT_MS, RedisConnection, type Reply } from "./connection";
import { streamEntries } from "./entries";
import { type PresenceKeys, presenceKeys } from "./keys";
import { scripts } from "./scripts";

export interface RedisPresenceOptions {
  readonly url: string;
  readonly prefix: string;
  /** The longest a dead node's streams stay listed, in ms: its liveness lasts two thirds of it, a beat comes every sixth. */
  readonly ttlMs: number;
}

/** How long opens and closes gather before they are written: a storm of connects is a few writes a second. */
const FLUSH_MS = 50;
/** Entries the feed keeps, about: a node further behind reads the hashes instead. */
const FEED_LENGTH = 10_000;
const BATCH = 1000;
const BLOCK_MS = 1000;
const RETRY_MS = 500;
/** The longest a stopping node waits to tell the others it leaves. */
const LEAVE_MS = 1000;

type Fields = Record<string, string>;

function fieldsOf(flat: Reply): Fields {
  const list = flat as string[];
  const out: Fields = {};
  for (let i = 0; i < list.length; i += 2) out[list[i] as string] = list[i + 1] as string;
  return out;
}

/** `[id, JSON, id, JSON, ...]` for the scripts. */
const flatten = (list: readonly SharedSubscription[]) => list.flatMap((s) => [s.id, JSON.stringify(s)]);

export class RedisPresenceExchange implements PresenceExchange {
  /** This process among the nodes: new at each start, so a restarted node never inherits a dead one's streams. */
  private readonly node = crypto.randomUUID();
  private readonly keys: PresenceKeys;
  private readonly aliveMs: number;
  private readonly commands: RedisConnection;
  private readonly feed: RedisConnection;
  private handlers: PresenceHandlers | undefined;
  private own: () => readonly SharedSubscription[] = () => [];
  /** Opens and closes waiting for the next write. */
  private pendingOpened: SharedSubscription[] = [];
  private pendingClosed: string[] = [];
  private flushTimer: Timer | undefined;
  private beatTimer: Timer | undefined;
  private beating: Promise<void> | undefined;
  /** This node's share must be written whole before changes can go on top of it. */
  private rebuild = true;
  /** The version of each other node's share that this node's mirror reflects. */
  private readonly versions = new Map<string, number>();
  /** The versions the last beat found: one the feed has not brought by the next beat is read from the hash. */
  private seenAtBeat = new Map<string, number>();
  /** The last feed entry read. */
  private position = "0-0";
  private running = true;
  private tailing: Promise<void> = Promise.resolve();
  /** The connections that found Redis out of reach and have not reached it since: logged once each way. */
  private readonly failing = new Set<RedisConnection>();
  private readonly beatEvery: number;

  constructor(
    options: RedisPresenceOptions,
    private readonly logger: Logger,
  ) {
    this.keys = presenceKeys(options.prefix);
    this.aliveMs = Math.round((options.ttlMs * 2) / 3);
    this.commands = new RedisConnection(options.url);
    this.feed = new RedisConnection(options.url);
    this.beatEvery = Math.round(options.ttlMs / 6);
  }

  async start(handlers: PresenceHandlers, own: () => readonly SharedSubscription[]): Promise<void> {
    this.handlers = handlers;
    this.own = own;
    try {
      const last = (await this.commands.send("XREVRANGE", [this.keys.feed, "+", "-", "COUNT", "1"])) as Reply[];
      this.position = String((last[0] as Reply[] | undefined)?.[0] ?? "0-0");
    } catch (error) {
      // The feed is read from its start then: every entry is checked against the versions the beat reads.
      this.failed(this.commands, error);
    }
    await this.beat();
    this.beatTimer = setInterval(() => void this.beat(), this.beatEvery);
    this.beatTimer.unref();
    this.tailing = this.tail();
  }

  opened(subscription: SharedSubscription): void {
    // A share to be written whole will hold it: nothing piles up while Redis is out of reach.
    if (this.rebuild) return;
    this.pendingOpened.push(subscription);
    this.schedule();
  }

  closed(id: string): void {
    if (this.rebuild) return;
    this.pendingClosed.push(id);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.beatTimer);
    clearTimeout(this.flushTimer);
    const k = this.keys;
    // Sent after any beat under way on the same connection, and given a short while: a stop never waits out an
    // unreachable Redis (the node's liveness runs out instead, and the others forget its streams within the bound).
    const leave = scripts.presenceLeave
      .run(this.commands, [k.feed, k.nodes, k.versions], [k.namespace, this.node, FEED_LENGTH])
      .catch(() => undefined);
    await Promise.race([leave, Bun.sleep(LEAVE_MS)]);
    this.feed.close();
    this.commands.close();
    await this.tailing;
  }

  private schedule(): void {
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, FLUSH_MS);
  }

  private async flush(): Promise<void> {
    const opened = this.pendingOpened;
    const closed = this.pendingClosed;
    this.pendingOpened = [];
    this.pendingClosed = [];
    if (this.rebuild || (opened.length === 0 && closed.length === 0)) return;
    const k = this.keys;
    try {
      const version = await scripts.presenceChange.run(
        this.commands,
        [k.feed, k.versions],
        [k.namespace, this.node, this.aliveMs, FEED_LENGTH, opened.length, ...flatten(opened), ...closed],
      );
      // The others forgot this node (it missed its beats): its share is written whole at once.
      if (Number(version) === 0) this.mustRebuild();
      this.recovered(this.commands);
    } catch (error) {
      this.mustRebuild();
      this.failed(this.commands, error);
    }
  }

  private mustRebuild(): void {
    this.rebuild = true;
    this.pendingOpened = [];
    this.pendingClosed = [];
    if (this.running) void this.beat();
  }

  /** One beat at a time: a second asked for meanwhile is that one. */
  private beat(): Promise<void> {
    this.beating ??= this.beatOnce().finally(() => {
      this.beating = undefined;
    });
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    const k = this.keys;
    try {
      const [wasAlive, ...flat] = (await scripts.presenceBeat.run(
        this.commands,
        [k.nodes, k.versions],
        [k.namespace, this.node, this.aliveMs],
      )) as Reply[];
      // A node that is leaving writes nothing more: its keys are going.
      if (!this.running) return;
      if (Number(wasAlive) !== 1 || this.rebuild) await this.writeShare();
      const live = new Map<string, number>();
      for (let i = 0; i < flat.length; i += 2) {
        if (flat[i] !== this.node) live.set(String(flat[i]), Number(flat[i + 1]));
      }
      for (const node of [...this.versions.keys()]) if (!live.has(node)) this.forget(node);
      for (const [node, version] of live) {
        const known = this.versions.get(node);
        if (known === undefined || known < (this.seenAtBeat.get(node) ?? 0)) await this.reload(node, version);
      }
      this.seenAtBeat = live;
      this.recovered(this.commands);
    } catch (error) {
      this.failed(this.commands, error);
    }
  }

  private async writeShare(): Promise<void> {
    // Changes from now on go on top of the share written here; those before are in it.
    this.rebuild = false;
    this.pendingOpened = [];
    this.pendingClosed = [];
    const k = this.keys;
    try {
      await scripts.presenceSync.run(
        this.commands,
        [k.feed, k.nodes, k.versions],
        [k.namespace, this.node, this.aliveMs, FEED_LENGTH, ...flatten(this.own())],
      );
    } catch (error) {
      this.rebuild = true;
      throw error;
    }
  }

  /** Reads another node's share whole, unless the mirror already reflects `atLeast` or later. */
  private async reload(node: string, atLeast = 0): Promise<void> {
    const known = this.versions.get(node);
    if (known !== undefined && known >= atLeast && atLeast > 0) return;
    const [version, ...flat] = (await scripts.presenceRead.run(
      this.commands,
      [this.keys.versions],
      [this.keys.namespace, node],
    )) as Reply[];
    if (Number(version) === 0) return this.forget(node);
    // The tail may have gone past this read meanwhile: the mirror never goes back.
    if (Number(version) <= (this.versions.get(node) ?? 0)) return;
    const all: SharedSubscription[] = [];
    for (let i = 1; i < flat.length; i += 2) all.push(JSON.parse(String(flat[i])) as SharedSubscription);
    this.versions.set(node, Number(version));
    this.handlers?.replaced(node, all);
  }

  private forget(node: string): void {
    this.versions.delete(node);
    this.handlers?.gone(node);
  }

  /** Follows the feed: each node's next version applies, a gap reads that node's share, a sync too. */
  private async tail(): Promise<void> {
    while (this.running) {
      try {
        const args = ["COUNT", String(BATCH), "BLOCK", String(BLOCK_MS), "STREAMS", this.keys.feed, this.position];
        const reply = await this.feed.send("XREAD", args, BLOCK_MS + COMMAND_TIMEOUT_MS);
        this.recovered(this.feed);
        for (const entry of streamEntries(reply, this.keys.feed)) {
          const [id, flat] = entry as [string, Reply];
          await this.apply(fieldsOf(flat));
          this.position = id;
        }
      } catch (error) {
        if (!this.running) return;
        this.failed(this.feed, error);
        await Bun.sleep(RETRY_MS);
      }
    }
  }

  private async apply(f: Fields): Promise<void> {
    const node = f.n;
    if (node === undefined || node === this.node) return;
    if (f.g !== undefined) return this.forget(node);
    const version = Number(f.v);
    const known = this.versions.get(node);
    if (known !== undefined && version <= known) return;
    if (f.s !== undefined || known === undefined || version !== known + 1) return this.reload(node);
    this.versions.set(node, version);
    this.handlers?.changed(node, JSON.parse(f.o ?? "[]") as SharedSubscription[], JSON.parse(f.c ?? "[]") as string[]);
  }

  private failed(connection: RedisConnection, error: unknown): void {
    if (!this.running || this.failing.has(connection)) return;
    if (this.failing.size === 0) {
      this.logger.error("presence cannot use Redis: other nodes' streams are listed as last known, streams and publishes go on", {
        error: String(error),
      });
    }
    this.failing.add(connection);
  }

  private recovered(connection: RedisConnection): void {
    if (!this.failing.delete(connection) || this.failing.size > 0) return;
    this.logger.info("presence reaches Redis again");
  }
}
