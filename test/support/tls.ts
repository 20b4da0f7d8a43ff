/** Certificates the tests make themselves (Debian's openssl), and what a TLS client sees of them. */
import { createHash, createPublicKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import tls from "node:tls";

export interface TestCertificate {
  readonly certPath: string;
  readonly keyPath: string;
  /** The certificate, for a client to trust it (`fetch(url, { tls: { ca: pem } })`). */
  readonly pem: string;
  readonly fingerprint256: string;
}

/** Two certificates in a fresh directory (the one a hub starts with and the one a reload brings); remove `dir` after. */
export function certificatePair(dir: string): { readonly first: TestCertificate; readonly second: TestCertificate } {
  return { first: makeCertificate(dir, "first"), second: makeCertificate(dir, "second") };
}

/** A self-signed certificate for `localhost` and 127.0.0.1, valid two days, written to `dir/name.crt` and `.key`. */
export function makeCertificate(dir: string, name: string): TestCertificate {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const openssl = Bun.spawnSync(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=localhost/O=herald test ${name}`,
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout",
      keyPath,
      "-out",
      certPath,
    ],
    { stderr: "pipe" },
  );
  if (openssl.exitCode !== 0) throw new Error(`openssl failed: ${openssl.stderr.toString()}`);
  const pem = readFileSync(certPath, "utf8");
  return { certPath, keyPath, pem, fingerprint256: new X509Certificate(pem).fingerprint256 };
}

/** The SHA-256 fingerprint of the certificate a new TLS connection to the port is shown. */
export function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on("error", reject);
  });
}

/** fetch options that trust these test certificates, and nothing else. */
export const trusting = (...certificates: TestCertificate[]): BunFetchRequestInit => ({
  tls: { ca: certificates.map((c) => c.pem) },
});

/** Chromium's flag to trust this certificate as if a CA had signed it (its public key's SHA-256, in base64). */
export function trustedBy(certificate: TestCertificate): string {
  const spki = createPublicKey(certificate.pem).export({ type: "spki", format: "der" });
  return `--ignore-certificate-errors-spki-list=${createHash("sha256").update(spki).digest("base64")}`;
}
