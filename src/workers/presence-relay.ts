/**
 * Presence across the workers of one process, on the main thread: each worker's streams come here as they open
 * and close and go on to every other worker, which mirrors them as it would another node's (the PresenceExchange
 * seam, one level down). The share of each worker is kept here, so a worker that joins (a replacement) is told
 * everything at once, and a worker that dies has its streams announced closed. In cluster mode this thread is the
 * process's one member of the cluster's presence: the workers' streams together are its share, and the other
 * nodes' come back through here to every worker.
 */
import type { PresenceExchange, SharedSubscription } from "../log/presence-exchange";
import { PresenceTally } from "./presence-tally";
import type { PresenceChange, PresenceJoined, PresenceNews } from "./protocol";

/** A worker as presence knows it. */
export interface PresenceMember {
  /** Its number, 1 to N: a replacement takes the number of the worker it replaces. */
  readonly index: number;
  /** The worker among presence's nodes: new for each worker thread, a replacement included. */
  readonly node: string;
  /** Sends it news of another worker or node (JSON PresenceNews). */
  tell(news: string): void;
  /** Resolves once the changes it sent before this call have reached this thread (or it is gone). */
  flushed(): Promise<void>;
}

type Share = Map<string, SharedSubscription>;

export class PresenceRelay {
  /** The workers that joined, with their streams. */
  private readonly members = new Map<PresenceMember, Share>();
  /** Cluster mode: every other node's streams, as the exchange last told. */
  private readonly nodes = new Map<string, Share>();
  private readonly tally = PresenceTally.create();

  /** @param cluster the exchange with the other nodes of a cluster, if any */
  constructor(private readonly cluster: PresenceExchange | undefined) {}

  /** Streams known, on every worker and every node. */
  get size(): number {
    let size = 0;
    for (const share of [...this.members.values(), ...this.nodes.values()]) size += share.size;
    return size;
  }

  /** Starts hearing from the other nodes of a cluster; resolves once what they hold is known. */
  async start(): Promise<void> {
    await this.cluster?.start(
      {
        changed: (node, opened, closed) => {
          this.apply(this.nodeShare(node), opened, closed);
          this.tellAll(undefined, { node, opened, closed });
        },
        replaced: (node, all) => {
          this.nodes.set(node, shareOf(all));
          this.tellAll(undefined, { node, all });
        },
        gone: (node) => {
          if (this.nodes.delete(node)) this.tellAll(undefined, { node, gone: true });
        },
      },
      () => [...this.members.values()].flatMap((share) => [...share.values()]),
    );
  }

  /** A worker joins with its streams: what every other worker and node holds, and their changes from now on. */
  join(member: PresenceMember, own: readonly SharedSubscription[]): PresenceJoined {
    const others: [string, SharedSubscription[]][] = [];
    for (const [m, share] of this.members) others.push([m.node, [...share.values()]]);
    for (const [node, share] of this.nodes) others.push([node, [...share.values()]]);
    const joined: PresenceJoined = { shares: JSON.stringify(others), tally: this.tally.buffer, known: this.tally.known() };
    this.members.set(member, new Map());
    this.changed(member, { seq: 0, opened: own, closed: [] });
    return joined;
  }

  /** A worker's streams opened and closed. */
  changed(member: PresenceMember, { seq, opened, closed }: PresenceChange): void {
    const share = this.members.get(member);
    if (!share) return;
    this.tally.know(member.index, seq);
    this.apply(share, opened, closed);
    for (const s of opened) this.cluster?.opened(s);
    for (const id of closed) this.cluster?.closed(id);
    this.tellAll(member, { node: member.node, opened, closed, from: member.index, seq });
  }

  /** A worker is gone: its streams close for every other worker, and for the cluster. */
  leave(member: PresenceMember): void {
    const share = this.members.get(member);
    if (!share) return;
    this.members.delete(member);
    const seq = this.tally.forget(member.index);
    for (const id of share.keys()) this.cluster?.closed(id);
    this.tellAll(member, { node: member.node, gone: true, from: member.index, seq });
  }

  /**
   * Resolves once what every worker but `member` changed before now is known here, and has been told to `member`:
   * at once when every change sent has arrived, else once each of them answers after what it sent.
   */
  async settle(member?: PresenceMember): Promise<void> {
    if (member === undefined && this.tally.upToDate()) return;
    await Promise.all([...this.members.keys()].filter((m) => m !== member).map((m) => m.flushed()));
  }

  /** Tells the cluster this node leaves, its streams with it. */
  async stop(): Promise<void> {
    await this.cluster?.stop();
  }

  private nodeShare(node: string): Share {
    let share = this.nodes.get(node);
    if (!share) {
      share = new Map();
      this.nodes.set(node, share);
    }
    return share;
  }

  private apply(share: Share, opened: readonly SharedSubscription[], closed: readonly string[]): void {
    for (const s of opened) share.set(s.id, s);
    for (const id of closed) share.delete(id);
  }

  /** Every worker but `from` hears `news`, serialised once for all of them. */
  private tellAll(from: PresenceMember | undefined, news: PresenceNews): void {
    const to = [...this.members.keys()].filter((member) => member !== from);
    if (to.length === 0) return;
    const json = JSON.stringify(news);
    for (const member of to) member.tell(json);
  }
}

function shareOf(list: readonly SharedSubscription[]): Share {
  return new Map(list.map((s) => [s.id, s]));
}
