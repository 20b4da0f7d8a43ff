/** Whether the shared log can take writes now, as /health and the fault state see it. */
import type { LogFault } from "../faults";
import { type RedisConnection, redisFault } from "./connection";
import type { LogKeys } from "./keys";
import { scripts } from "./scripts";

export interface ProbeResult {
  readonly fault: LogFault | undefined;
  /** Redis's `used_memory`, when it answered. */
  readonly usedMemory?: number;
}

/** `connected_slaves:N` and each `slaveK:...,state=online,...` line of INFO replication. */
function onlineReplicas(info: string): number {
  return [...info.matchAll(/^slave\d+:.*state=online/gm)].length;
}

/**
 * The head script may write, so Redis refuses it as it would an append (out of memory, a read-only replica);
 * with replicas to wait for, fewer of them online than required means every publish would be refused.
 */
export async function probe(connection: RedisConnection, keys: LogKeys, replicas: number): Promise<ProbeResult> {
  try {
    await scripts.head.run(connection, [keys.head], [0]);
    const memory = String(await connection.send("INFO", ["memory"]));
    const usedMemory = Number(/used_memory:(\d+)/.exec(memory)?.[1] ?? Number.NaN);
    if (replicas === 0) return { fault: undefined, usedMemory };
    const online = onlineReplicas(String(await connection.send("INFO", ["replication"])));
    if (online >= replicas) return { fault: undefined, usedMemory };
    const message = `${online} of the ${replicas} Redis replicas that must confirm each publish are online`;
    return { fault: { reason: "log_unavailable", message }, usedMemory };
  } catch (error) {
    return { fault: redisFault(error) };
  }
}
