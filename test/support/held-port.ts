/** A port between two threads in one process (a MessageChannel's end) whose messages the test can hold back. */
import type { MessagePort } from "node:worker_threads";
import type { Port } from "../../src/workers/channel";

/** The main thread's end of a port whose messages can be held back: a worker thread that is slow to take them. */
export class HeldPort implements Port {
  private held: unknown[] | undefined;

  constructor(private readonly port: MessagePort) {}

  postMessage(message: unknown): void {
    if (this.held) this.held.push(message);
    else this.port.postMessage(message);
  }

  on(event: "message", listener: (message: unknown) => void): unknown {
    return this.port.on(event, listener);
  }

  hold(): void {
    this.held = [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const message of held) this.port.postMessage(message);
  }
}
