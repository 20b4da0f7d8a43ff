/**
 * Notices of live state (Mercure's subscription events) that reach a stream while it replays: they go out after
 * the page being read, under that page's position, so each sits between the events the client would resume from.
 */
import { joinChunks } from "../sse/encode";

/** A notice of live state, not an event of the log: its bytes under the position a reconnect would resume after. */
export type Notice = (position: number) => Uint8Array;

/** Notices held for a replaying client that does not read, before it counts as too slow: they cannot be replayed. */
const MAX_HELD_NOTICES = 1000;

export class HeldNotices {
  private held: Notice[] = [];

  /** Holds `notice`; false when as many as may be are held already. */
  hold(notice: Notice): boolean {
    if (this.held.length >= MAX_HELD_NOTICES) return false;
    this.held.push(notice);
    return true;
  }

  /** Every notice held, at `position` (every matching event up to it has been written), as one chunk. */
  take(position: number): Uint8Array | undefined {
    if (this.held.length === 0) return undefined;
    const held = this.held;
    this.held = [];
    return joinChunks(held.map((notice) => notice(position)));
  }
}
