/** The names of the shared log's keys: all under one hash tag, so Redis Cluster keeps them in one slot. */

export interface LogKeys {
  /** `{prefix}:`, which every key starts with; scripts derive per-topic and per-key names from it. */
  readonly namespace: string;
  /** Stream indexing every retained event in id order (entry id `<event id>-0`): its topic and time. */
  readonly log: string;
  /** Stream of the newest events in full, which every node tails; the events themselves live in `{prefix}:t:<topic>`. */
  readonly feed: string;
  /** Hash: the highest id assigned, the latest commit time, and the highest id lost to a rollback of Redis. */
  readonly head: string;
  /** Sorted set of every topic name with retained events, for prefix lookups. */
  readonly topics: string;
  /** Hash: topic → highest id retention deleted. */
  readonly pruned: string;
  /** Hash: every prefix of a pruned topic's name → the highest id retention deleted on the topics it starts. */
  readonly prefixes: string;
  /** Set of topics over the per-topic limit. */
  readonly over: string;
  /** The per-topic limit `over` was last checked against, every topic (0 or absent: none yet). */
  readonly overLimit: string;
  /** Sorted set of publishers' ids of retained events, `<publisher id>\n<event id in 20 digits>`, for resume. */
  readonly ids: string;
  /** Hash: topic → its retained private updates (canonical or alternate); a topic with none has no field. */
  readonly privates: string;
}

export function logKeys(prefix: string): LogKeys {
  const namespace = `{${prefix}}:`;
  return {
    namespace,
    log: `${namespace}log`,
    feed: `${namespace}feed`,
    head: `${namespace}head`,
    topics: `${namespace}topics`,
    pruned: `${namespace}pruned`,
    prefixes: `${namespace}pruned-prefixes`,
    over: `${namespace}over`,
    overLimit: `${namespace}over-limit`,
    ids: `${namespace}ids`,
    privates: `${namespace}private`,
  };
}

/** An Idempotency-Key's record; `/` cannot occur in a topic, so scope and key cannot run into each other. */
export function idempotencyKey(keys: LogKeys, scope: string, key: string): string {
  return `${keys.namespace}k:${scope}/${key}`;
}

/** The keys presence shares beside the log; each node's liveness and share are named from the namespace by the scripts. */
export interface PresenceKeys {
  readonly namespace: string;
  /** Set of the nodes that share presence. */
  readonly nodes: string;
  /** Hash: node → version of its share, raised by each write. */
  readonly versions: string;
  /** Stream of every node's opens and closes, trimmed to about the newest 10,000 writes. */
  readonly feed: string;
}

export function presenceKeys(prefix: string): PresenceKeys {
  const namespace = `{${prefix}}:`;
  return {
    namespace,
    nodes: `${namespace}presence:nodes`,
    versions: `${namespace}presence:versions`,
    feed: `${namespace}presence:feed`,
  };
}
