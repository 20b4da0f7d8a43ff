/**
 * What a stream needs besides its selectors: a slot among its client's HERALD_MAX_STREAMS_PER_CLIENT, given
 * back the moment the stream closes, and an end when the token that opened it expires.
 */
import type { Server } from "bun";
import type { Reader } from "../auth/authorizer";
import { HeraldError, RETRY_LATER } from "../errors";
import type { Subscription } from "../hub/subscription";
import type { Metrics } from "../metrics";
import { onDeadline } from "../timers";
import type { TrustedProxies } from "./client-address";

/** Open streams per client, counted exactly: a client with none has no entry, so the map stays bounded. */
export class ClientStreams {
  private readonly open = new Map<string, number>();

  constructor(private readonly perClient: number) {}

  /** Takes a slot of `client`'s, or throws `too_many_streams`; the function returned gives it back, once. */
  take(client: string): () => void {
    const held = this.open.get(client) ?? 0;
    if (held >= this.perClient) {
      throw new HeraldError("too_many_streams", `this client already has ${held} open streams, the most allowed`, RETRY_LATER);
    }
    this.open.set(client, held + 1);
    let returned = false;
    return () => {
      if (returned) return;
      returned = true;
      const left = (this.open.get(client) ?? 1) - 1;
      if (left === 0) this.open.delete(client);
      else this.open.set(client, left);
    };
  }
}

/** A stream as the coordinator of every worker counts it. */
export interface StreamEntry {
  /** The client it counts against when streams per client are limited, else null. */
  readonly client: string | null;
}

/** Stream slots counted over every worker thread (HERALD_WORKERS > 1): the hub's stream limit and each client's. */
export interface SharedSlots {
  /** Takes a slot, or rejects with `too_many_streams` or `too_many_subscribers`; resolves with what gives it back, once. */
  take(stream: StreamEntry): Promise<() => void>;
}

export interface AdmissionOptions {
  /** 0: no limit. */
  readonly maxStreamsPerClient: number;
  readonly proxies: TrustedProxies;
  readonly metrics: Metrics;
  /** How long a stream opened with a token may last (0: until the token's exp, if any). */
  readonly maxStreamAgeMs: number;
  /** Where slots come from when several workers serve: every stream takes one there, limit or not. */
  readonly shared?: SharedSlots;
}

export class StreamAdmission {
  private readonly clients: ClientStreams | null;

  constructor(private readonly options: AdmissionOptions) {
    const counted = options.maxStreamsPerClient > 0 && options.shared === undefined;
    this.clients = counted ? new ClientStreams(options.maxStreamsPerClient) : null;
  }

  /**
   * Opens a stream with `open` once its client has a slot (429 otherwise, before any stream byte), and ties
   * the slot and the stream's end to its life: the token's expiry, or its age limit, since a token revoked after
   * the stream opened would otherwise be good for as long as the connection holds.
   */
  async open(request: Request, server: Server<unknown> | null, reader: Reader, open: () => Subscription): Promise<Subscription> {
    const release = await this.slot(request, server, reader);
    let sub: Subscription;
    try {
      sub = open();
    } catch (error) {
      release?.();
      throw error;
    }
    const until = this.endOf(reader);
    const cancelExpiry = until === undefined ? undefined : onDeadline(until, () => sub.end());
    if (release !== undefined || cancelExpiry !== undefined) {
      void sub.ended.then(() => {
        release?.();
        cancelExpiry?.();
      });
    }
    return sub;
  }

  /**
   * Refuses as `open` would, opening nothing: a HEAD gets a GET's status. A slot is taken and given back at once;
   * `checkRoom` throws when the hub has no room for one more stream.
   */
  async check(request: Request, server: Server<unknown> | null, reader: Reader, checkRoom: () => void): Promise<void> {
    checkRoom();
    const release = await this.slot(request, server, reader);
    release?.();
  }

  /** When a stream of this reader must end (ms since the epoch), if ever. */
  private endOf(reader: Reader): number | undefined {
    const { maxStreamAgeMs } = this.options;
    const aged = reader.withToken && maxStreamAgeMs > 0 ? Date.now() + maxStreamAgeMs : undefined;
    if (aged === undefined || reader.expiresAt === undefined) return aged ?? reader.expiresAt;
    return Math.min(aged, reader.expiresAt);
  }

  private async slot(request: Request, server: Server<unknown> | null, reader: Reader): Promise<(() => void) | undefined> {
    const { shared, maxStreamsPerClient } = this.options;
    if (shared === undefined && this.clients === null) return undefined;
    const client = maxStreamsPerClient > 0 ? this.clientOf(request, server, reader) : null;
    try {
      return shared === undefined ? this.clients?.take(client as string) : await shared.take({ client });
    } catch (error) {
      if (error instanceof HeraldError && error.code === "too_many_streams") this.options.metrics.streamsRefusedPerClient++;
      throw error;
    }
  }

  /** Prefixed, so a token whose `sub` looks like an address never shares that address's slots. */
  private clientOf(request: Request, server: Server<unknown> | null, reader: Reader): string {
    if (reader.subject !== undefined) return `sub:${reader.subject}`;
    const peer = server?.requestIP(request)?.address ?? "";
    return `ip:${this.options.proxies.clientOf(peer, request.headers.get("x-forwarded-for"))}`;
  }
}
