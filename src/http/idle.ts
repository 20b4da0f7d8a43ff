/** Bun's idle timer, which also runs while a handler is still working on its response. */
import type { Server } from "bun";

/**
 * Seconds a connection may stay idle before Bun closes it: what `listen` sets. Bun checks it every 4 s, so an idle
 * connection ends 8 to 12 s after its last response. The proxies in deploy/ close their idle connections to Herald
 * after 4 s, before it does (test/upstream-keepalive.test.ts): lowering this needs them lowered too.
 */
export const IDLE_TIMEOUT_S = 10;

/**
 * Runs `work` with the request's idle timer off, then restarts it. Bun counts the time a handler spends before
 * its response as idle: a long read of the log on a busy machine would otherwise end in a connection reset.
 */
export async function whileWorking<T>(server: Server<unknown> | null, request: Request, work: () => Promise<T>): Promise<T> {
  server?.timeout(request, 0);
  try {
    return await work();
  } finally {
    server?.timeout(request, IDLE_TIMEOUT_S);
  }
}
