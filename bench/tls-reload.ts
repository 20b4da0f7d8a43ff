/**
 * `bun bench/tls-reload.ts`: what SIGHUP certificate reloads cost new connections. 8 clients open a new HTTPS
 * connection per request for 5 s while the hub reloads its certificate every 250 ms; prints how many requests
 * failed, and `net.ipv4.tcp_migrate_req` (0: Linux resets what the old socket had queued; 1: hands it over).
 */
import { readFileSync } from "node:fs";
import { dispose, startHerald, tempDir } from "../test/support/herald";
import { makeCertificate, trusting } from "../test/support/tls";

const CLIENTS = 8;
const RUN_MS = 5000;
const RELOAD_EVERY_MS = 250;

const certificate = makeCertificate(tempDir(), "reload");
const hub = await startHerald({ env: { HERALD_TLS_CERT: certificate.certPath, HERALD_TLS_KEY: certificate.keyPath } });
let ok = 0;
let failed = 0;
let running = true;
const client = async () => {
  while (running) {
    try {
      const res = await fetch(`${hub.url}/health`, { ...trusting(certificate), keepalive: false });
      await res.text();
      if (res.ok) ok++;
      else failed++;
    } catch {
      failed++;
    }
  }
};
const clients = Array.from({ length: CLIENTS }, client);
let reloads = 0;
for (const start = Date.now(); Date.now() - start < RUN_MS; reloads++) {
  await Bun.sleep(RELOAD_EVERY_MS);
  hub.proc.kill("SIGHUP");
}
running = false;
await Promise.all(clients);
await dispose(hub);
const migrate = readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim();
console.log(`${reloads} reloads, tcp_migrate_req=${migrate}: ${ok} requests answered, ${failed} failed`);
