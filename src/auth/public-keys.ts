/**
 * The public keys tokens may be signed with: PEM SPKI blocks, each key's type fixing the one algorithm it verifies
 * (Mercure draft 08: the allowlist should hold EdDSA, ES256 and RS256, and `alg` must fit the key).
 */
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { ConfigError } from "../errors";

export type PublicKeyAlgorithm = "EdDSA" | "ES256" | "RS256";

export interface PublicKey {
  readonly alg: PublicKeyAlgorithm;
  /** RFC 7638 JWK thumbprint (SHA-256, base64url): how the start-up log names the key, and a `kid` that picks it. */
  readonly thumbprint: string;
  readonly key: KeyObject;
}

/** RFC 7518 §3.3: RS256 keys of at least 2048 bits. */
const RSA_MIN_BITS = 2048;

export const ACCEPTED_KEYS = `Ed25519 (EdDSA), P-256 (ES256), RSA of ${RSA_MIN_BITS} bits or more (RS256)`;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** What to do with a PEM block that holds something else than a public key: each is a common slip. */
const OTHER_BLOCKS: Record<string, string> = {
  "PRIVATE KEY": "a private key: give the hub only its public key (openssl pkey -in KEY -pubout)",
  "EC PRIVATE KEY": "a private key: give the hub only its public key (openssl pkey -in KEY -pubout)",
  "RSA PRIVATE KEY": "a private key: give the hub only its public key (openssl pkey -in KEY -pubout)",
  "ENCRYPTED PRIVATE KEY": "a private key: give the hub only its public key (openssl pkey -in KEY -pubout)",
  "RSA PUBLIC KEY": "a PKCS#1 RSA key: convert it to SPKI (openssl rsa -RSAPublicKey_in -in KEY -pubout)",
  CERTIFICATE: "a certificate: give its public key (openssl x509 -in CERT -pubkey -noout)",
};

/**
 * Every key of `pem` (concatenated PEM blocks; text between them is ignored, as RFC 7468 allows). Throws a
 * ConfigError naming the key and the fault, never quoting the text.
 */
export function parsePublicKeys(pem: string): PublicKey[] {
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) throw new ConfigError("no PEM public key in it (-----BEGIN PUBLIC KEY-----)");
  if (pem.split("-----BEGIN ").length - 1 !== blocks.length)
    throw new ConfigError("a PEM block in it has no END line (cut short?)");
  return blocks.map(([block, label], i) => {
    const which = blocks.length === 1 ? "its key" : `key ${i + 1} of ${blocks.length}`;
    if (label !== "PUBLIC KEY") throw new ConfigError(`${which} is ${OTHER_BLOCKS[label ?? ""] ?? `a ${label} block`}`);
    const key = parseBlock(block, which);
    return { alg: algorithmOf(key, which), thumbprint: thumbprint(key), key };
  });
}

function parseBlock(block: string, which: string): KeyObject {
  try {
    return createPublicKey({ key: block, format: "pem", type: "spki" });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_OSSL_EVP_UNSUPPORTED_ALGORITHM")
      throw new ConfigError(`${which} is of a type Herald does not verify tokens with; accepted: ${ACCEPTED_KEYS}`);
    throw new ConfigError(`${which} cannot be parsed (damaged base64, or not an SPKI public key)`);
  }
}

function algorithmOf(key: KeyObject, which: string): PublicKeyAlgorithm {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === "ed25519") return "EdDSA";
  if (type === "ec" && details.namedCurve === "prime256v1") return "ES256";
  if (type === "rsa" && (details.modulusLength ?? 0) >= RSA_MIN_BITS) return "RS256";
  const kind =
    type === "rsa"
      ? `an RSA key of ${details.modulusLength} bits`
      : type === "ec"
        ? `an EC key on ${details.namedCurve}`
        : `a key of type ${type?.toUpperCase()}`;
  throw new ConfigError(`${which} is ${kind}; accepted: ${ACCEPTED_KEYS}`);
}

/** RFC 7638: SHA-256 of the key's required JWK members, in lexicographic order, without whitespace. */
function thumbprint(key: KeyObject): string {
  const { crv, e, kty, n, x, y } = key.export({ format: "jwk" });
  const members = kty === "RSA" ? { e, kty, n } : kty === "EC" ? { crv, kty, x, y } : { crv, kty, x };
  return createHash("sha256").update(JSON.stringify(members)).digest("base64url");
}
