/** Native TLS: the certificate and key files, read and checked to belong together, at start-up and on every SIGHUP. */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError } from "../errors";
import { readFailure } from "../files";

export interface TlsFiles {
  readonly certPath: string;
  readonly keyPath: string;
}

/** What Bun.serve takes, plus what the logs say about the certificate. */
export interface TlsCredentials {
  readonly cert: string;
  readonly key: string;
  readonly subject: string;
  readonly validTo: string;
  readonly fingerprint256: string;
}

/** The two settings go together: one without the other is a mistake, not a request for plain HTTP. */
export function tlsFiles(settings: { readonly tlsCert: string; readonly tlsKey: string }): TlsFiles | undefined {
  const { tlsCert, tlsKey } = settings;
  if (tlsCert === "" && tlsKey === "") return undefined;
  if (tlsCert === "" || tlsKey === "") {
    throw new ConfigError("HERALD_TLS_CERT and HERALD_TLS_KEY go together: set both for HTTPS, or neither for plain HTTP");
  }
  return { certPath: tlsCert, keyPath: tlsKey };
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read the TLS ${what} ${path}: ${readFailure(error)}`);
  }
}

function parse<T>(make: () => T, message: string): T {
  try {
    return make();
  } catch {
    throw new ConfigError(message);
  }
}

/** Reads both files and checks them; every failure is a ConfigError whose message names the file and the fault. */
export function loadTls({ certPath, keyPath }: TlsFiles): TlsCredentials {
  const cert = readPem(certPath, "certificate");
  const key = readPem(keyPath, "key");
  const x509 = parse(() => new X509Certificate(cert), `the TLS certificate ${certPath} holds no PEM certificate`);
  const privateKey: KeyObject = parse(
    () => createPrivateKey(key),
    `the TLS key ${keyPath} holds no PEM private key (an encrypted key needs its passphrase removed)`,
  );
  if (!x509.checkPrivateKey(privateKey)) {
    throw new ConfigError(`the TLS key ${keyPath} does not belong to the certificate ${certPath}`);
  }
  return { cert, key, subject: x509.subject, validTo: x509.validTo, fingerprint256: x509.fingerprint256 };
}
