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

export interface AdmissionOptions {
  /** 0: no limit. */
  readonly maxStreamsPerClient: number;
  readonly proxies: TrustedProxies;
  readonly metrics: Metrics;
  /** How long a stream opened with a token may last (0: until the token's exp, if any). */
  readonly maxStreamAgeMs: number;
}

export class StreamAdmission {
  private readonly clients: ClientStreams | null;

  constructor(private readonly options: AdmissionOptions) {
    this.clients = options.maxStreamsPerClient > 0 ? new ClientStreams(options.maxStreamsPerClient) : null;
  }

  /**
   * Opens a stream with `open` once its client has a slot (429 otherwise, before any stream byte), and ties
   * the slot and the stream's end to its life: the token's expiry, or its age limit, since a token revoked after
   * the stream opened would otherwise be good for as long as the connection holds.
   */
  open(request: Request, server: Server<unknown> | null, reader: Reader, open: () => Subscription): Subscription {
    const release = this.clients === null ? undefined : this.take(this.clients, request, server, reader);
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

  /** When a stream of this reader must end (ms since the epoch), if ever. */
  private endOf(reader: Reader): number | undefined {
    const { maxStreamAgeMs } = this.options;
    const aged = reader.withToken && maxStreamAgeMs > 0 ? Date.now() + maxStreamAgeMs : undefined;
    if (aged === undefined || reader.expiresAt === undefined) return aged ?? reader.expiresAt;
    return Math.min(aged, reader.expiresAt);
  }

  private take(clients: ClientStreams, request: Request, server: Server<unknown> | null, reader: Reader): () => void {
    // Prefixed, so a token whose `sub` looks like an address never shares that address's slots.
    const client =
      reader.subject !== undefined
        ? `sub:${reader.subject}`
        : `ip:${this.options.proxies.clientOf(server?.requestIP(request)?.address ?? "", request.headers.get("x-forwarded-for"))}`;
    try {
      return clients.take(client);
    } catch (error) {
      this.options.metrics.streamsRefusedPerClient++;
      throw error;
    }
  }
}
