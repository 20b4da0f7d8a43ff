/** TCP connections on loopback as the kernel lists them (/proc/net/tcp), to see which end of one closed first. */
import { readFileSync } from "node:fs";

/** The states of /proc/net/tcp that the tests look for (include/net/tcp_states.h). */
const STATES: Record<string, TcpState> = { "01": "established", "06": "time_wait" };
export type TcpState = "established" | "time_wait" | "other";

export interface TcpEnd {
  readonly localPort: number;
  readonly remotePort: number;
  readonly state: TcpState;
}

/** Every IPv4 TCP socket of this network namespace, each end of a loopback connection on its own line. */
export function tcpEnds(): TcpEnd[] {
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length > 3)
    .map(([, local = "", remote = "", state = ""]) => ({
      localPort: Number.parseInt(local.split(":")[1] ?? "", 16),
      remotePort: Number.parseInt(remote.split(":")[1] ?? "", 16),
      state: STATES[state] ?? "other",
    }));
}

/** The ports of the peers connected to a server's port right now. */
export function peersOf(serverPort: number): number[] {
  return tcpEnds()
    .filter((end) => end.localPort === serverPort && end.state === "established")
    .map((end) => end.remotePort);
}

/**
 * Which end of a closed connection closed it first: TCP keeps the end that closed first in TIME_WAIT (for 60 s on
 * Linux), and the other one goes away. `undefined` while it is open, or when it ended in a reset.
 */
export function closedFirstBy(serverPort: number, peerPort: number): "server" | "peer" | undefined {
  const ends = tcpEnds().filter(
    (end) =>
      end.state === "time_wait" &&
      ((end.localPort === serverPort && end.remotePort === peerPort) ||
        (end.localPort === peerPort && end.remotePort === serverPort)),
  );
  if (ends.length !== 1) return undefined;
  return ends[0]?.localPort === serverPort ? "server" : "peer";
}
