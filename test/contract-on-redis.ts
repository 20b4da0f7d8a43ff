/**
 * The contract tests a second time, every hub on the Redis log: the same files, unchanged, with
 * HERALD_TEST_LOG=redis (test/support/herald.ts starts a redis-server and points each hub at it). And on one
 * thread (HERALD_TEST_WORKERS=1), where the first run had the default, a worker per core: both paths pass the
 * contract in every CI run (the cluster tests run the Redis log on workers).
 */
import { hasRedis } from "./support/redis";

const CONTRACT = [
  "publish",
  "stream",
  "replay",
  "seam",
  "history",
  "idempotency",
  "retention",
  "auth",
  "slow-consumer",
  "lifecycle",
  "restart",
  "mercure-publish",
  "mercure-subscribe",
  "mercure-private",
  "mercure-operations",
  "mercure-browser",
  "mercure-drafts",
  "mercure-patterns",
  "presence",
  "mercure-subscriptions",
].map((name) => `test/${name}.test.ts`);

if (!hasRedis()) process.exit(0);
const run = Bun.spawn([process.execPath, "test", "--timeout", "30000", ...CONTRACT], {
  env: { ...process.env, HERALD_TEST_LOG: "redis", HERALD_TEST_WORKERS: "1" },
  stdio: ["inherit", "inherit", "inherit"],
});
process.exit(await run.exited);
