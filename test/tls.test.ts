/** Native TLS: HTTPS from HERALD_TLS_CERT/KEY, SIGHUP rotating the certificate under open streams, clear start-up errors. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dispose, type Herald, removeDir, startHerald, tempDir } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";
import { certificatePair, peerFingerprint, type TestCertificate, trusting } from "./support/tls";
import { eventually } from "./support/wait";

const ENTRY = join(import.meta.dir, "..", "src", "index.ts");

const certs = tempDir();
const { first, second } = certificatePair(certs);
afterAll(() => removeDir(certs));

/** A hub serving HTTPS from its own copy of `first`, so a test can overwrite the files the hub reads. */
async function startTlsHerald(): Promise<Herald & { certPath: string; keyPath: string }> {
  const dir = tempDir();
  const certPath = join(dir, "tls.crt");
  const keyPath = join(dir, "tls.key");
  install(first, certPath, keyPath);
  const h = await startHerald({ dir, env: { HERALD_TLS_CERT: certPath, HERALD_TLS_KEY: keyPath } });
  return Object.assign(h, { certPath, keyPath });
}

function install(certificate: TestCertificate, certPath: string, keyPath: string): void {
  copyFileSync(certificate.certPath, certPath);
  copyFileSync(certificate.keyPath, keyPath);
}

/** A PEM block whose base64 is damaged: what a bad copy and paste of a chain leaves. */
const damagedBlock = (label: string) => `-----BEGIN ${label}-----\nMIIB!!!not*base64\n-----END ${label}-----\n`;

/** Trusts both test certificates, so one client can follow a rotation. */
const TRUST_BOTH = () => trusting(first, second);

async function publishTo(h: Herald, topic: string, data: unknown): Promise<string> {
  const res = await fetch(`${h.url}/topics/${topic}/events`, {
    ...TRUST_BOTH(),
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ data }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const logged = (h: Herald, text: string) => h.lines.filter((l) => l.includes(text)).length;

describe("HTTPS from HERALD_TLS_CERT and HERALD_TLS_KEY", () => {
  let h: Herald;
  beforeAll(async () => {
    h = await startTlsHerald();
  });
  afterAll(() => dispose(h));

  test("a client that trusts the certificate publishes and streams over HTTPS; plain HTTP gets no answer", async () => {
    expect(h.url).toStartWith("https://");
    expect(await peerFingerprint(h.port)).toBe(first.fingerprint256);
    expect(h.lines.find((l) => l.includes("tls certificate loaded"))).toContain(first.fingerprint256);
    const health = await fetch(`${h.url}/health`, trusting(first));
    expect(health.status).toBe(200);
    const stream = await SseReader.open(streamUrl(h.url, ["secure"]), {}, trusting(first));
    expect(stream.response.headers.get("content-type")).toStartWith("text/event-stream");
    const id = await publishTo(h, "secure", { over: "https" });
    await stream.count(1);
    expect(stream.events[0]).toEqual({ id, data: '{"over":"https"}' });
    stream.close();
    // A client that does not trust the certificate is refused by its own TLS check, and plain HTTP is not served.
    await expect(fetch(`${h.url}/health`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${h.port}/health`)).rejects.toThrow();
  });

  test("`herald healthcheck` probes the HTTPS hub (container health checks)", () => {
    const probe = (env: Record<string, string>) =>
      Bun.spawnSync([process.execPath, ENTRY, "healthcheck"], {
        env: { ...process.env, PORT: String(h.port), HOST: "127.0.0.1", ...env },
        timeout: 10_000,
      }).exitCode;
    expect(probe({ HERALD_TLS_CERT: first.certPath, HERALD_TLS_KEY: first.keyPath })).toBe(0);
    // Without the TLS settings it speaks plain HTTP to an HTTPS port, and says the hub is not healthy.
    expect(probe({})).toBe(1);
  });

  test("a second hub cannot share the port of an HTTPS one, although HTTPS listens with SO_REUSEPORT", async () => {
    const dir = tempDir();
    const run = Bun.spawnSync([process.execPath, ENTRY], {
      env: {
        ...process.env,
        PORT: String(h.port),
        HOST: "127.0.0.1",
        HERALD_DB: join(dir, "herald.db"),
        HERALD_TLS_CERT: first.certPath,
        HERALD_TLS_KEY: first.keyPath,
      },
      timeout: 10_000,
    });
    removeDir(dir);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.toString()).toBe(
      `herald: cannot listen on 127.0.0.1:${h.port}: the port is already in use (by another Herald?)\n`,
    );
    expect(run.stdout.toString()).not.toContain("herald started");
    expect((await fetch(`${h.url}/health`, trusting(first))).status).toBe(200);
  });
});

describe("SIGHUP reloads the certificate and key", () => {
  test("a stream open across the reload keeps receiving; new connections see the new certificate; one hub serves both", async () => {
    const h = await startTlsHerald();
    try {
      const before = await SseReader.open(streamUrl(h.url, ["rotate"]), {}, TRUST_BOTH());
      const firstId = await publishTo(h, "rotate", 1);
      await before.count(1);

      install(second, h.certPath, h.keyPath);
      h.proc.kill("SIGHUP");
      await eventually(() => h.lines.some((l) => l.includes("tls certificate loaded") && l.includes(second.fingerprint256)));
      // The old listener stops accepting once quiet (50 ms without a request here): then every new connection
      // gets the new certificate.
      await eventually(async () => (await peerFingerprint(h.port)) === second.fingerprint256, 1000);
      await Bun.sleep(100);
      for (let i = 0; i < 10; i++) expect(await peerFingerprint(h.port)).toBe(second.fingerprint256);

      const after = await SseReader.open(streamUrl(h.url, ["rotate"]), { "Last-Event-ID": "0" }, TRUST_BOTH());
      const secondId = await publishTo(h, "rotate", 2);
      await before.count(2);
      await after.count(2);
      expect(before.ids()).toEqual([Number(firstId), Number(secondId)]);
      expect(after.ids()).toEqual([Number(firstId), Number(secondId)]);
      expect(before.ended).toBe(false);
      // Both servers feed the one hub: its gauge counts the stream on the old socket and the one on the new.
      const metrics = await (await fetch(`${h.url}/metrics`, TRUST_BOTH())).text();
      expect(metrics).toMatch(/^herald_subscribers 2$/m);

      // A graceful stop ends the streams of the retired server too, with a proper last chunk.
      expect(await h.stop()).toBe(0);
      await before.until((r) => r.ended);
      expect(before.endedCleanly).toBe(true);
      expect(after.endedCleanly).toBe(true);
    } finally {
      if (h.proc.exitCode === null) await h.kill();
      removeDir(h.dir);
    }
  });

  test("files that cannot be used are logged and the running certificate stays, streams and all", async () => {
    const h = await startTlsHerald();
    try {
      const stream = await SseReader.open(streamUrl(h.url, ["keep"]), {}, TRUST_BOTH());
      writeFileSync(h.certPath, "not a certificate\n");
      h.proc.kill("SIGHUP");
      await eventually(() => logged(h, "tls reload failed") === 1);
      expect(h.lines.find((l) => l.includes("tls reload failed"))).toContain("holds no PEM certificate");
      expect(await peerFingerprint(h.port)).toBe(first.fingerprint256);

      // A chain with a damaged certificate is named as such, file and all, not as a failure to listen.
      writeFileSync(h.certPath, first.pem + damagedBlock("CERTIFICATE"));
      h.proc.kill("SIGHUP");
      await eventually(() => logged(h, "tls reload failed") === 2);
      const damaged = h.lines.filter((l) => l.includes("tls reload failed"))[1];
      expect(JSON.parse(damaged as string).error).toBe(
        `the TLS certificate ${h.certPath} cannot be parsed: certificate 2 of 2 in it is damaged (BAD_BASE64_DECODE)`,
      );
      expect(await peerFingerprint(h.port)).toBe(first.fingerprint256);

      // A key that belongs to another certificate is refused as well.
      install(second, h.certPath, h.keyPath);
      copyFileSync(first.keyPath, h.keyPath);
      h.proc.kill("SIGHUP");
      await eventually(() => logged(h, "tls reload failed") === 3);
      expect(h.lines.filter((l) => l.includes("tls reload failed"))[2]).toContain("does not belong to the certificate");
      expect(await peerFingerprint(h.port)).toBe(first.fingerprint256);

      await publishTo(h, "keep", "still here");
      await stream.count(1);
      expect(stream.events[0]?.data).toBe("still here");
    } finally {
      await h.stop();
      removeDir(h.dir);
    }
  });

  test("a plain-HTTP hub takes SIGHUP in its stride (it would otherwise end the process)", async () => {
    const h = await startHerald();
    try {
      h.proc.kill("SIGHUP");
      await eventually(() => logged(h, "no certificate to reload") === 1);
      expect((await fetch(`${h.url}/health`)).status).toBe(200);
    } finally {
      await dispose(h);
    }
  });
});

describe("TLS files that cannot be used stop start-up with one herald: line and exit code 2", () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir();
    mkdirSync(join(dir, "a-directory"));
    writeFileSync(join(dir, "garbage.pem"), "-----BEGIN NOTHING-----\n");
    writeFileSync(join(dir, "damaged-chain.pem"), first.pem + damagedBlock("CERTIFICATE"));
    writeFileSync(join(dir, "short-chain.pem"), `${first.pem}-----BEGIN CERTIFICATE-----\nMIIB\n`);
    writeFileSync(join(dir, "damaged-other.pem"), first.pem + damagedBlock("JUNK"));
  });
  afterAll(() => removeDir(dir));

  /** Each case: the TLS settings, and the first line the hub must print. */
  const cases: Array<[string, () => [Record<string, string>, string]]> = [
    [
      "a missing certificate",
      () => [
        { HERALD_TLS_CERT: join(dir, "missing.crt"), HERALD_TLS_KEY: first.keyPath },
        `herald: cannot read the TLS certificate ${join(dir, "missing.crt")}: no such file`,
      ],
    ],
    [
      "a key that cannot be read",
      () => [
        { HERALD_TLS_CERT: first.certPath, HERALD_TLS_KEY: join(dir, "a-directory") },
        `herald: cannot read the TLS key ${join(dir, "a-directory")}: it is a directory`,
      ],
    ],
    [
      "a file that is no certificate",
      () => [
        { HERALD_TLS_CERT: join(dir, "garbage.pem"), HERALD_TLS_KEY: first.keyPath },
        `herald: the TLS certificate ${join(dir, "garbage.pem")} holds no PEM certificate`,
      ],
    ],
    [
      "a chain with a damaged certificate after the first",
      () => [
        { HERALD_TLS_CERT: join(dir, "damaged-chain.pem"), HERALD_TLS_KEY: first.keyPath },
        `herald: the TLS certificate ${join(dir, "damaged-chain.pem")} cannot be parsed: certificate 2 of 2 in it is damaged (BAD_BASE64_DECODE)\n`,
      ],
    ],
    [
      "a chain cut short",
      () => [
        { HERALD_TLS_CERT: join(dir, "short-chain.pem"), HERALD_TLS_KEY: first.keyPath },
        `herald: the TLS certificate ${join(dir, "short-chain.pem")} cannot be parsed: a certificate in it has no END line`,
      ],
    ],
    [
      "a damaged block the TLS library refuses",
      () => [
        { HERALD_TLS_CERT: join(dir, "damaged-other.pem"), HERALD_TLS_KEY: first.keyPath },
        `herald: the TLS certificate ${join(dir, "damaged-other.pem")} or key ${first.keyPath} cannot be used: the TLS library refused them (BAD_BASE64_DECODE)\n`,
      ],
    ],
    [
      "the key of another certificate",
      () => [
        { HERALD_TLS_CERT: first.certPath, HERALD_TLS_KEY: second.keyPath },
        `herald: the TLS key ${second.keyPath} does not belong to the certificate ${first.certPath}`,
      ],
    ],
    [
      "a certificate without a key",
      () => [{ HERALD_TLS_CERT: first.certPath }, "herald: HERALD_TLS_CERT and HERALD_TLS_KEY go together"],
    ],
  ];

  for (const [name, setup] of cases) {
    test(name, () => {
      const [env, message] = setup();
      const run = Bun.spawnSync([process.execPath, ENTRY], {
        env: { ...process.env, PORT: "0", HOST: "127.0.0.1", HERALD_DB: join(dir, "herald.db"), ...env },
        timeout: 10_000,
      });
      const stderr = run.stderr.toString();
      expect(run.exitCode).toBe(2);
      expect(stderr).toStartWith(message);
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stdout.toString()).not.toContain("herald started");
    });
  }
});
