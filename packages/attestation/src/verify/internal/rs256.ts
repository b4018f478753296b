import { type KeyObject, verify } from "node:crypto";
import { reject } from "../errors.js";
import { decodeJsonPart, NOT_JSON } from "./compact.js";
import { isJsonObject, type Payload } from "./payload.js";

const MIN_MODULUS_BITS = 2048;
/** Keys already checked (reading KeyObject details is not free). */
const checkedKeys = new WeakSet<KeyObject>();

/**
 * Verifies the RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature of a compact JWS whose
 * shape and header were already checked, and returns its decoded payload.
 *
 * Uses `node:crypto` synchronously rather than WebCrypto: on a relying party that sees a
 * new token per request (the broker), jose's WebCrypto path costs several times more
 * per verification, and the algorithm is pinned anyway.
 */
export function verifyRs256(token: string, key: KeyObject): Payload {
  // Stryker disable next-line ConditionalExpression: a cache; checking a key again changes only the cost
  if (!checkedKeys.has(key)) checkKey(key);
  const firstDot = token.indexOf(".");
  const secondDot = token.indexOf(".", firstDot + 1);
  const signature = Buffer.from(token.slice(secondDot + 1), "base64url");
  // The KeyObject itself, not `{ key, padding }`: PKCS#1 v1.5 is already the padding of an
  // "rsa" key (checkKey refuses others), and the options object costs ~10 µs per call.
  // A signature of the wrong length just does not verify.
  if (!verify("sha256", Buffer.from(token.slice(0, secondDot)), key, signature)) {
    throw reject("signature", "the token's signature does not verify");
  }
  const payload = decodeJsonPart(token.slice(firstDot + 1, secondDot));
  if (payload === NOT_JSON) throw reject("format", "the token's payload is not base64url JSON");
  if (!isJsonObject(payload)) throw reject("format", "the token's payload is not a JSON object");
  return payload;
}

function checkKey(key: KeyObject): void {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.type !== "public" || key.asymmetricKeyType !== "rsa" || bits < MIN_MODULUS_BITS) {
    throw reject("signature", `the signing key is not an RSA public key of at least ${MIN_MODULUS_BITS} bits`);
  }
  // Stryker disable next-line CallExpression: a cache; not remembering a key changes only the cost
  checkedKeys.add(key);
}
