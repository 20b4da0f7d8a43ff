/**
 * The keys a token is verified with, each bound to the one algorithm it accepts: the HS256 secret and the
 * configured public keys. Key material a token brings along (`jwk`, `jku`, `x5u`, `x5c`) is never read (draft 08).
 */
import type { KeyObject } from "node:crypto";
import { decodeProtectedHeader, errors, type JWTVerifyResult, jwtVerify } from "jose";
import type { PublicKey } from "./public-keys";

interface TrustedKey {
  readonly alg: string;
  readonly key: KeyObject | Uint8Array;
  /** The `kid` that picks this key out of those of its algorithm. */
  readonly kid?: string;
}

export class Keyring {
  private readonly byAlgorithm = new Map<string, TrustedKey[]>();

  constructor(secret: string, publicKeys: readonly PublicKey[]) {
    if (secret !== "") this.add({ alg: "HS256", key: new TextEncoder().encode(secret) });
    for (const { alg, key, thumbprint } of publicKeys) this.add({ alg, key, kid: thumbprint });
  }

  /** No key at all: open mode. */
  get empty(): boolean {
    return this.byAlgorithm.size === 0;
  }

  /**
   * The token, once a trusted key of its `alg` verifies its signature and its `exp` and `nbf` hold: the key its
   * `kid` names, else each key of that algorithm in turn. An algorithm no key has (`none` among them) is refused
   * before any signature is looked at. Throws jose's errors.
   */
  async verify(token: string): Promise<JWTVerifyResult> {
    let failure: unknown = new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
    for (const { alg, key } of this.candidates(token)) {
      try {
        return await jwtVerify(token, key, { algorithms: [alg] });
      } catch (error) {
        // Signed with another key of this algorithm, maybe: the next one may verify it.
        if (!(error instanceof errors.JWSSignatureVerificationFailed)) throw error;
        failure = error;
      }
    }
    throw failure;
  }

  /** The header only chooses among trusted keys (draft 08 allows `kid` as a hint); it never adds one. */
  private candidates(token: string): readonly TrustedKey[] {
    const { alg, kid } = decodeProtectedHeader(token);
    const keys = (typeof alg === "string" && this.byAlgorithm.get(alg)) || [];
    const named = typeof kid === "string" ? keys.find((k) => k.kid === kid) : undefined;
    return named ? [named] : keys;
  }

  private add(key: TrustedKey): void {
    this.byAlgorithm.set(key.alg, [...(this.byAlgorithm.get(key.alg) ?? []), key]);
  }
}
