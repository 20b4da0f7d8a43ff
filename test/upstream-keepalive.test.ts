/**
 * deploy/nginx.conf and deploy/Caddyfile keep idle connections to Herald open for publishes, and close them before
 * Herald's idle timeout does (8 to 12 s after its last response): a publish that a proxy sends on a connection as
 * Herald closes it is a 502, since neither proxy retries a POST it has sent.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dispose, removeDir, startHerald, tempDir } from "./support/herald";
import { hasProxy, type ProxyKind, startProxy } from "./support/proxy";
import { closedFirstBy, peersOf } from "./support/tcp";
import { makeCertificate, type TestCertificate, trusting } from "./support/tls";

/** Longer than Herald's idle timeout can last (10 s, checked on Bun's 4 s tick: 8 to 12 s). */
const QUIET_MS = 12_500;

let certs: string;
let certificate: TestCertificate;
beforeAll(() => {
  certs = tempDir();
  certificate = makeCertificate(certs, "keepalive");
});
afterAll(() => removeDir(certs));

describe.each(["nginx", "caddy"] as const)("%s in front", (kind: ProxyKind) => {
  test.skipIf(!hasProxy[kind])(
    "a publish after 12 s of quiet gets its 201, and the proxy, not Herald, closed the idle connection meanwhile",
    async () => {
      const herald = await startHerald();
      const proxy = await startProxy(kind, { upstreams: [`127.0.0.1:${herald.port}`], certificate });
      try {
        const publish = async () => {
          const res = await fetch(`${proxy.url}/topics/quiet/events`, { ...trusting(certificate), method: "POST", body: "x" });
          await res.arrayBuffer();
          return res.status;
        };
        expect(await publish()).toBe(201);
        // Only the proxy connects to this hub: every connection it has is one the proxy keeps for the next request.
        const idle = peersOf(herald.port);
        expect(idle.length).toBeGreaterThan(0);
        await Bun.sleep(QUIET_MS);
        expect(idle.map((peer) => closedFirstBy(herald.port, peer))).toEqual(idle.map(() => "peer"));
        expect(await publish()).toBe(201);
      } finally {
        await proxy.stop();
        await dispose(herald);
      }
    },
    30_000,
  );
});
