/** Results inside the repo are checked by `biome check .` too (JSON and Markdown): leaves them in its format. */
import { existsSync } from "node:fs";
import { join } from "node:path";

const BIOME = join(import.meta.dir, "..", "..", "node_modules", ".bin", "biome");

export function formatResults(files: readonly string[]): void {
  if (existsSync(BIOME)) Bun.spawnSync([BIOME, "format", "--write", ...files], { stdout: "ignore", stderr: "ignore" });
}
