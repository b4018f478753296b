import { type KeyObject, verify } from "node:crypto";
import { reject } from "../errors.js";
import type { Payload } from "./payload.js";

const MIN_MODULUS_BITS = 2048;
/** Signature length in bytes of keys already checked (reading KeyObject details is not free). */
const checkedKeys = new WeakMap<KeyObject, number>();
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Verifies the RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature of a compact JWS whose
 * shape and header were already checked, and returns its decoded payload.
 *
 * Uses `node:crypto` synchronously rather than WebCrypto: on a relying party that sees a
 * new token per request (the broker), jose's WebCrypto path costs several times more
 * per verification, and the algorithm is pinned anyway.
 */
export function verifyRs256(token: string, key: KeyObject): Payload {
  const signatureBytes = checkedKeys.get(key) ?? checkKey(key);
  const firstDot = token.indexOf(".");
  const secondDot = token.indexOf(".", firstDot + 1);
  const signature = Buffer.from(token.slice(secondDot + 1), "base64url");
  const signingInput = Buffer.from(token.slice(0, secondDot), "ascii");
  const valid =
    signature.length === signatureBytes &&
    // The KeyObject itself, not `{ key, padding }`: PKCS#1 v1.5 is already the padding of an
    // "rsa" key (checkKey refuses others), and the options object costs ~10 µs per call.
    verify("sha256", signingInput, key, signature);
  if (!valid) throw reject("signature", "the token's signature does not verify");

  let payload: unknown;
  try {
    payload = JSON.parse(UTF8.decode(Buffer.from(token.slice(firstDot + 1, secondDot), "base64url")));
  } catch {
    throw reject("format", "the token's payload is not base64url JSON");
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw reject("format", "the token's payload is not a JSON object");
  }
  return payload as Payload;
}

function checkKey(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.type !== "public" || key.asymmetricKeyType !== "rsa" || bits < MIN_MODULUS_BITS) {
    throw reject("signature", `the signing key is not an RSA public key of at least ${MIN_MODULUS_BITS} bits`);
  }
  checkedKeys.set(key, bits / 8);
  return bits / 8;
}
