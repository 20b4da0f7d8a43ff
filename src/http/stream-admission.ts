/**
 * What a stream needs besides its selectors: a slot among its client's HERALD_MAX_STREAMS_PER_CLIENT, given
 * back the moment the stream closes, and an end when the token that opened it expires.
 */
import type { Server } from "bun";
import type { Reader } from "../auth/authorizer";
import { HeraldError } from "../errors";
import type { Subscription } from "../hub/subscription";
import type { Metrics } from "../metrics";
import type { TrustedProxies } from "./client-address";

/** setTimeout's longest delay (about 24.8 days); a later deadline is reached in several waits. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** Open streams per client, counted exactly: a client with none has no entry, so the map stays bounded. */
export class ClientStreams {
  private readonly open = new Map<string, number>();

  constructor(private readonly perClient: number) {}

  /** Takes a slot of `client`'s, or throws `too_many_streams`; the function returned gives it back, once. */
  take(client: string): () => void {
    const held = this.open.get(client) ?? 0;
    if (held >= this.perClient) {
      throw new HeraldError("too_many_streams", `this client already has ${held} open streams, the most allowed`, {
        "Retry-After": "5",
      });
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

/** Runs `action` at `at` (ms since the epoch); the function returned cancels it. */
function onDeadline(at: number, action: () => void): () => void {
  let timer: Timer;
  const arm = () => {
    const wait = at - Date.now();
    timer = wait > LONGEST_TIMER_MS ? setTimeout(arm, LONGEST_TIMER_MS) : setTimeout(action, Math.max(0, wait));
  };
  arm();
  return () => clearTimeout(timer);
}

export interface AdmissionOptions {
  /** 0: no limit. */
  readonly maxStreamsPerClient: number;
  readonly proxies: TrustedProxies;
  readonly metrics: Metrics;
}

export class StreamAdmission {
  private readonly clients: ClientStreams | null;

  constructor(private readonly options: AdmissionOptions) {
    this.clients = options.maxStreamsPerClient > 0 ? new ClientStreams(options.maxStreamsPerClient) : null;
  }

  /**
   * Opens a stream with `open` once its client has a slot (429 otherwise, before any stream byte), and ties
   * the slot and the token's expiry to the stream's life.
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
    const cancelExpiry = reader.expiresAt === undefined ? undefined : onDeadline(reader.expiresAt, () => sub.end());
    if (release !== undefined || cancelExpiry !== undefined) {
      void sub.ended.then(() => {
        release?.();
        cancelExpiry?.();
      });
    }
    return sub;
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
