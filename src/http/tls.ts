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

/** `BAD_BASE64_DECODE` from `error:09000064:PEM routines:OPENSSL_internal:BAD_BASE64_DECODE`: the part that says why. */
function opensslReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]?.split(":").pop()?.trim() || "unknown error";
}

const BEGIN_CERTIFICATE = "-----BEGIN CERTIFICATE-----";
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Every certificate of the file (a full chain holds several), parsed as the TLS library will parse them: the first
 * alone says nothing of the others, and a damaged one would otherwise surface as a failure to listen.
 */
function parseChain(pem: string, path: string): X509Certificate {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  const [leaf] = blocks;
  if (leaf === undefined) throw new ConfigError(`the TLS certificate ${path} holds no PEM certificate`);
  if (pem.split(BEGIN_CERTIFICATE).length - 1 !== blocks.length) {
    throw new ConfigError(`the TLS certificate ${path} cannot be parsed: a certificate in it has no END line (cut short?)`);
  }
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (error) {
      const which = blocks.length === 1 ? "its certificate" : `certificate ${i + 1} of ${blocks.length} in it`;
      throw new ConfigError(`the TLS certificate ${path} cannot be parsed: ${which} is damaged (${opensslReason(error)})`);
    }
  });
  return new X509Certificate(leaf);
}

/**
 * A TLS library error from starting a server (what the checks of loadTls did not foresee), as a ConfigError that
 * names the files: never "cannot listen" with OpenSSL's words alone. Anything else is not ours to translate.
 */
export function tlsServeFailure(error: unknown, { certPath, keyPath }: TlsFiles): ConfigError | undefined {
  const code = (error as NodeJS.ErrnoException | null)?.code ?? "";
  if (!code.startsWith("ERR_OSSL") && !code.startsWith("ERR_SSL")) return undefined;
  return new ConfigError(
    `the TLS certificate ${certPath} or key ${keyPath} cannot be used: the TLS library refused them (${opensslReason(error)})`,
  );
}

/** Reads both files and checks them; every failure is a ConfigError whose message names the file and the fault. */
export function loadTls({ certPath, keyPath }: TlsFiles): TlsCredentials {
  const cert = readPem(certPath, "certificate");
  const key = readPem(keyPath, "key");
  const x509 = parseChain(cert, certPath);
  const privateKey: KeyObject = parse(
    () => createPrivateKey(key),
    `the TLS key ${keyPath} holds no PEM private key (an encrypted key needs its passphrase removed)`,
  );
  if (!x509.checkPrivateKey(privateKey)) {
    throw new ConfigError(`the TLS key ${keyPath} does not belong to the certificate ${certPath}`);
  }
  return { cert, key, subject: x509.subject, validTo: x509.validTo, fingerprint256: x509.fingerprint256 };
}
