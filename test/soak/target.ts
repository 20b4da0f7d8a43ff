/** What the soak's clients and checks need of the hub under test, one process or a cluster of nodes. */

export interface SoakTarget {
  /** A node to talk to (in a cluster, any one of those running). */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Faults survived so far. */
  readonly kills: number;
  readonly peakRss: number;
  start(): Promise<void>;
  /** Inflicts one fault and recovers from it; says which. */
  fault(rnd: () => number): Promise<string>;
  /** SIGTERM; the exit code of the (last) process. */
  stop(): Promise<number | undefined>;
}
