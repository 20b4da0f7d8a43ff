/** The shared log's atomic steps, and presence's: one Lua script each, run by hash (EVALSHA), loaded again after a restart. */
// Imported as text so `bun build --compile` embeds them in the binary.

import type { RedisConnection, Reply } from "./connection";
import appendLua from "./lua/append.lua" with { type: "text" };
import headLua from "./lua/head.lua" with { type: "text" };
import indexOverLua from "./lua/index-over.lua" with { type: "text" };
import indexPrunedLua from "./lua/index-pruned.lua" with { type: "text" };
import libLua from "./lua/lib.lua" with { type: "text" };
import presenceBeatLua from "./lua/presence-beat.lua" with { type: "text" };
import presenceChangeLua from "./lua/presence-change.lua" with { type: "text" };
import presenceLeaveLua from "./lua/presence-leave.lua" with { type: "text" };
import presenceReadLua from "./lua/presence-read.lua" with { type: "text" };
import presenceSyncLua from "./lua/presence-sync.lua" with { type: "text" };
import pruneLua from "./lua/prune.lua" with { type: "text" };
import prunedThroughLua from "./lua/pruned-through.lua" with { type: "text" };
import publicTopicLua from "./lua/public-topic.lua" with { type: "text" };
import readLua from "./lua/read.lua" with { type: "text" };
import topicsLua from "./lua/topics.lua" with { type: "text" };

export class Script {
  private readonly source: string;
  private readonly sha: string;

  /** `writes`: false lets Redis run the script on a replica and while out of memory; true refuses it up front when writes would fail. */
  constructor(body: string, writes: boolean) {
    this.source = `#!lua${writes ? "" : " flags=no-writes"}\n${libLua}\n${body}`;
    this.sha = new Bun.CryptoHasher("sha1").update(this.source).digest("hex");
  }

  async run(connection: RedisConnection, keys: readonly string[], args: readonly (string | number)[]): Promise<Reply> {
    const params = [String(keys.length), ...keys, ...args.map(String)];
    try {
      return await connection.send("EVALSHA", [this.sha, ...params]);
    } catch (error) {
      // A restarted or failed-over Redis has an empty script cache: EVAL loads the script again.
      if (!String((error as Error).message).startsWith("NOSCRIPT")) throw error;
      return connection.send("EVAL", [this.source, ...params]);
    }
  }
}

export const scripts = {
  append: new Script(appendLua, true),
  read: new Script(readLua, false),
  prune: new Script(pruneLua, true),
  topics: new Script(topicsLua, false),
  publicTopic: new Script(publicTopicLua, false),
  prunedThrough: new Script(prunedThroughLua, false),
  head: new Script(headLua, true),
  indexPruned: new Script(indexPrunedLua, true),
  indexOver: new Script(indexOverLua, true),
  presenceBeat: new Script(presenceBeatLua, true),
  presenceChange: new Script(presenceChangeLua, true),
  presenceSync: new Script(presenceSyncLua, true),
  presenceRead: new Script(presenceReadLua, false),
  presenceLeave: new Script(presenceLeaveLua, true),
};
