/** The shared log's atomic steps: one Lua script each, run by hash (EVALSHA), loaded again after a restart. */
import type { RedisClient } from "bun";
// Imported as text so `bun build --compile` embeds them in the binary.
import appendLua from "./scripts/append.lua" with { type: "text" };
import headLua from "./scripts/head.lua" with { type: "text" };
import pruneLua from "./scripts/prune.lua" with { type: "text" };
import prunedThroughLua from "./scripts/pruned-through.lua" with { type: "text" };
import readLua from "./scripts/read.lua" with { type: "text" };
import topicsLua from "./scripts/topics.lua" with { type: "text" };

/** Redis's reply to a script: strings, integers, nulls and arrays of them. */
export type Reply = string | number | null | Reply[];

export class Script {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = new Bun.CryptoHasher("sha1").update(source).digest("hex");
  }

  async run(client: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<Reply> {
    const params = [String(keys.length), ...keys, ...args.map(String)];
    try {
      return await client.send("EVALSHA", [this.sha, ...params]);
    } catch (error) {
      // A restarted or failed-over Redis has an empty script cache: EVAL loads the script again.
      if (!String((error as Error).message).startsWith("NOSCRIPT")) throw error;
      return client.send("EVAL", [this.source, ...params]);
    }
  }
}

export const scripts = {
  append: new Script(appendLua),
  read: new Script(readLua),
  prune: new Script(pruneLua),
  topics: new Script(topicsLua),
  prunedThrough: new Script(prunedThroughLua),
  head: new Script(headLua),
};
