/**
 * Tokens signed with a private key whose public key the hub is given (HERALD_JWT_PUBLIC_KEY, draft 08's "Token
 * Validation"): each configured key verifies the one algorithm its type fixes, on both APIs, and nothing else does;
 * a key the hub cannot use stops start-up.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { calculateJwkThumbprint, exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from "jose";
import { helpText } from "../src/config";
import { boot, expectRefusal } from "./support/boot";
import { dispose, type Herald, removeDir, startHerald, tempDir } from "./support/herald";
import { SseReader, streamUrl } from "./support/sse";

const SECRET = "a-secret-of-at-least-thirty-two-bytes!";
const ALGORITHMS = ["EdDSA", "ES256", "RS256"] as const;
type Algorithm = (typeof ALGORITHMS)[number];
type Pair = CryptoKeyPair;

const dir = tempDir();
const trusted = {} as Record<Algorithm, Pair>;
const stranger = {} as Record<Algorithm, Pair>;
/** A second ES256 key, rotated in beside the first. */
let rotated: Pair;
const pem = {} as Record<Algorithm, string>;
/** Keys only: no secret, so HS256 is no algorithm of this hub at all. */
let keysOnly: Herald;
/** The same keys beside HERALD_JWT_SECRET. */
let withSecret: Herald;

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

beforeAll(async () => {
  for (const alg of ALGORITHMS) {
    [trusted[alg], stranger[alg]] = await Promise.all([generateKeyPair(alg), generateKeyPair(alg)]);
    pem[alg] = await exportSPKI(trusted[alg].publicKey);
  }
  rotated = await generateKeyPair("ES256");
  const keys = file("keys.pem", [...ALGORITHMS.map((alg) => pem[alg]), await exportSPKI(rotated.publicKey)].join(""));
  [keysOnly, withSecret] = await Promise.all([
    startHerald({ env: { HERALD_JWT_PUBLIC_KEY_FILE: keys } }),
    startHerald({ env: { HERALD_JWT_PUBLIC_KEY_FILE: keys, HERALD_JWT_SECRET: SECRET } }),
  ]);
});
afterAll(async () => {
  await Promise.all([keysOnly, withSecret].filter(Boolean).map(dispose));
  removeDir(dir);
});

const now = () => Math.floor(Date.now() / 1000);
const ALL = { herald: { publish: ["*"], subscribe: ["*"] } };
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
let count = 0;
const fresh = () => `keys.t${++count}`;

function sign(key: CryptoKey | Uint8Array, header: { alg: string; kid?: string; jwk?: JWK }): Promise<string> {
  return new SignJWT({ ...ALL, exp: now() + 600 }).setProtectedHeader(header).sign(key);
}

function nativePublish(h: Herald, token: string, topic = fresh()): Promise<Response> {
  return fetch(`${h.url}/topics/${topic}/events`, { method: "POST", body: "x", headers: { authorization: `Bearer ${token}` } });
}

function mercurePublish(h: Herald, token: string): Promise<Response> {
  return fetch(`${h.url}/.well-known/mercure`, {
    method: "POST",
    body: new URLSearchParams([["topic", `https://example.com/${fresh()}`]]).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Bearer ${token}` },
  });
}

/** Refused on both APIs as a bad token: 401, `invalid_token`, nothing written. */
async function expectInvalid(h: Herald, token: string): Promise<void> {
  for (const res of [await nativePublish(h, token), await mercurePublish(h, token)]) {
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
  }
}

describe("tokens signed with a configured key", () => {
  for (const alg of ALGORITHMS) {
    test(`${alg}: a native stream reads what a native publish wrote, and the Mercure endpoint publishes`, async () => {
      for (const h of [keysOnly, withSecret]) {
        const token = await sign(trusted[alg].privateKey, { alg });
        const topic = fresh();
        const reader = await SseReader.open(streamUrl(h.url, [topic]), { authorization: `Bearer ${token}` });
        expect(reader.response.status).toBe(200);
        expect((await nativePublish(h, token, topic)).status).toBe(201);
        await reader.until((r) => r.events.length === 1);
        reader.close();
        expect((await mercurePublish(h, token)).status).toBe(200);
      }
    });
  }

  test("with keys only the hub is not open: no token is a 401, and an HS256 token has no key", async () => {
    expect((await fetch(`${keysOnly.url}/topics/${fresh()}/events`, { method: "POST", body: "x" })).status).toBe(401);
    await expectInvalid(keysOnly, await sign(new TextEncoder().encode(SECRET), { alg: "HS256" }));
    // Beside the keys, the secret keeps verifying HS256 tokens.
    expect((await nativePublish(withSecret, await sign(new TextEncoder().encode(SECRET), { alg: "HS256" }))).status).toBe(201);
  });

  test("a kid equal to a key's thumbprint picks that key; any other kid is no key's, and each key of the alg is tried", async () => {
    const [first, second] = await Promise.all([
      calculateJwkThumbprint(await exportJWK(trusted.ES256.publicKey)),
      calculateJwkThumbprint(await exportJWK(rotated.publicKey)),
    ]);
    for (const h of [keysOnly, withSecret]) {
      expect((await nativePublish(h, await sign(rotated.privateKey, { alg: "ES256" }))).status).toBe(201);
      expect((await nativePublish(h, await sign(rotated.privateKey, { alg: "ES256", kid: second }))).status).toBe(201);
      expect((await nativePublish(h, await sign(rotated.privateKey, { alg: "ES256", kid: "2026-rotation" }))).status).toBe(201);
      // Named, the first key is the only one tried: the rotated key's signature does not verify with it.
      await expectInvalid(h, await sign(rotated.privateKey, { alg: "ES256", kid: first }));
    }
  });

  test("the start-up log names each key by algorithm and thumbprint, never its PEM", async () => {
    const start = JSON.parse(keysOnly.lines.find((l) => l.includes('"herald started"')) ?? "{}");
    const thumbprints = await Promise.all(
      [...ALGORITHMS.map((alg) => trusted[alg]), rotated].map(async (p) => calculateJwkThumbprint(await exportJWK(p.publicKey))),
    );
    expect(start.settings.jwtPublicKeys).toEqual([
      { alg: "EdDSA", thumbprint: thumbprints[0] },
      { alg: "ES256", thumbprint: thumbprints[1] },
      { alg: "RS256", thumbprint: thumbprints[2] },
      { alg: "ES256", thumbprint: thumbprints[3] },
    ]);
    expect(keysOnly.lines.join("\n")).not.toContain("PUBLIC KEY");
    expect(keysOnly.lines.some((l) => l.includes('"open mode'))).toBe(false);
  });
});

describe("refused with 401 invalid_token, on both APIs", () => {
  test("a stranger's key of the same type", async () => {
    for (const alg of ALGORITHMS) {
      for (const h of [keysOnly, withSecret]) await expectInvalid(h, await sign(stranger[alg].privateKey, { alg }));
    }
  });

  test("an alg that does not fit the key: HS256 with a public key's PEM as its secret (algorithm confusion)", async () => {
    for (const alg of ALGORITHMS) {
      for (const h of [keysOnly, withSecret]) {
        await expectInvalid(h, await sign(new TextEncoder().encode(pem[alg]), { alg: "HS256" }));
        await expectInvalid(h, await sign(new TextEncoder().encode(pem[alg].trim()), { alg: "HS256" }));
      }
    }
  });

  test("alg none", async () => {
    const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...ALL, exp: now() + 600 })}.`;
    for (const h of [keysOnly, withSecret]) await expectInvalid(h, unsigned);
  });

  test("a token that carries its own key (jwk), even naming a trusted key's kid", async () => {
    const jwk = await exportJWK(stranger.ES256.publicKey);
    const kid = await calculateJwkThumbprint(await exportJWK(trusted.ES256.publicKey));
    for (const h of [keysOnly, withSecret]) {
      await expectInvalid(h, await sign(stranger.ES256.privateKey, { alg: "ES256", jwk }));
      await expectInvalid(h, await sign(stranger.ES256.privateKey, { alg: "ES256", jwk, kid }));
    }
  });
});

describe("keys the hub cannot use stop start-up (exit 2, one line)", () => {
  const spki = (key: KeyObject) => key.export({ type: "spki", format: "pem" }) as string;

  test("a type or size that fixes no accepted algorithm", async () => {
    const rsa1024 = spki(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey);
    const p384 = spki(generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey);
    const x25519 = spki(generateKeyPairSync("x25519").publicKey);
    expectRefusal(
      await boot({ HERALD_JWT_PUBLIC_KEY_FILE: file("rsa1024.pem", rsa1024) }),
      /^herald: HERALD_JWT_PUBLIC_KEY_FILE: its key is an RSA key of 1024 bits; accepted: Ed25519 \(EdDSA\), P-256 \(ES256\), RSA of 2048 bits or more \(RS256\)\n$/,
    );
    expectRefusal(
      await boot({ HERALD_JWT_PUBLIC_KEY_FILE: file("p384.pem", `${pem.ES256}${p384}`) }),
      /^herald: HERALD_JWT_PUBLIC_KEY_FILE: key 2 of 2 is an EC key on secp384r1; accepted: /,
    );
    expectRefusal(
      await boot({ HERALD_JWT_PUBLIC_KEY: x25519 }),
      /^herald: HERALD_JWT_PUBLIC_KEY: its key is a key of type X25519;/,
    );
  });

  test("a private key, damaged or cut-short PEM, a path where the keys were meant", async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pkcs8 = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    expectRefusal(
      await boot({ HERALD_JWT_PUBLIC_KEY_FILE: file("private.pem", pkcs8) }),
      /^herald: HERALD_JWT_PUBLIC_KEY_FILE: its key is a private key: give the hub only its public key/,
    );
    const damaged = pem.ES256.replace(/\n[A-Za-z0-9+/]{8}/, "\n!!!!!!!!");
    expectRefusal(
      await boot({ HERALD_JWT_PUBLIC_KEY_FILE: file("damaged.pem", damaged) }),
      /^herald: HERALD_JWT_PUBLIC_KEY_FILE: its key cannot be parsed/,
    );
    const cut = `${pem.EdDSA}${pem.ES256.slice(0, 60)}`;
    expectRefusal(await boot({ HERALD_JWT_PUBLIC_KEY_FILE: file("cut.pem", cut) }), /a PEM block in it has no END line/);
    // The path given where the keys were meant.
    expectRefusal(
      await boot({ HERALD_JWT_PUBLIC_KEY: join(dir, "keys.pem") }),
      /^herald: HERALD_JWT_PUBLIC_KEY: no PEM public key in it \(-----BEGIN PUBLIC KEY-----\)\n$/,
    );
  });

  test("a file that cannot be read, or both forms at once", async () => {
    expectRefusal(
      await boot({ HERALD_JWT_PUBLIC_KEY_FILE: join(dir, "no-such-file") }),
      /^herald: HERALD_JWT_PUBLIC_KEY_FILE: cannot read the file it names \(no such file\); it takes the path of a file that holds the value/,
    );
    expectRefusal(
      await boot({}, ["--jwt-public-key", pem.ES256, "--jwt-public-key-file", join(dir, "keys.pem")]),
      /^herald: --jwt-public-key and --jwt-public-key-file are both set: keep one\n$/,
    );
  });

  test("--help lists the setting, its file form and the keys it accepts", () => {
    expect(helpText()).toContain("--jwt-public-key            HERALD_JWT_PUBLIC_KEY");
    expect(helpText()).toContain("HERALD_JWT_PUBLIC_KEY_FILE / --jwt-public-key-file PATH");
    expect(helpText()).toContain("range: unset, or PEM SPKI public keys, concatenated: Ed25519 (EdDSA), P-256 (ES256), RSA");
  });
});
