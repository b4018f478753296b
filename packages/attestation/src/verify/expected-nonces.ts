import { reject } from "./errors.js";
import type { VerifyOptions } from "./options.js";

/** Most nonces one token can carry (the launcher's limit). */
export const MAX_NONCES = 6;
const VERIFY_KEYS: readonly string[] = ["nonce", "nonces"] satisfies (keyof VerifyOptions)[];

/**
 * The nonces a `verify()` call expects, from its options: `undefined` when none, else 1
 * to {@link MAX_NONCES} distinct non-empty strings. Misuse is an `AttestationPolicyError`
 * with check `expected_nonce` (never a bare `TypeError`), so a relying party that maps
 * policy errors to 4xx does so here too; no token can pass such a call.
 */
export function expectedNonces(options: unknown, requireNonce: boolean): readonly string[] | undefined {
  if (options !== undefined) {
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw misuse("the options of verify() must be an object");
    }
    for (const key of Object.keys(options)) {
      if (!VERIFY_KEYS.includes(key)) throw misuse(`verify() has no option "${key}" (known: nonce, nonces)`);
    }
  }
  const { nonce, nonces } = (options ?? {}) as { nonce?: unknown; nonces?: unknown };
  if (nonce !== undefined && nonces !== undefined) throw misuse("pass either nonce or nonces to verify(), not both");
  let expected: readonly string[] | undefined;
  if (nonce !== undefined) {
    if (!isNonce(nonce)) throw misuse("the nonce passed to verify() must be a non-empty string");
    expected = [nonce];
  } else if (nonces !== undefined) {
    if (!Array.isArray(nonces) || nonces.length === 0 || nonces.length > MAX_NONCES) {
      throw misuse(`the nonces passed to verify() must be an array of 1 to ${MAX_NONCES} strings`);
    }
    if (!nonces.every(isNonce)) throw misuse("each nonce passed to verify() must be a non-empty string");
    if (new Set(nonces).size !== nonces.length) throw misuse("the nonces passed to verify() must be distinct");
    expected = Object.freeze([...nonces]);
  }
  if (expected === undefined && requireNonce) {
    throw misuse("this verifier has requireNonce set: pass the expected nonce (or nonces) to verify()");
  }
  return expected;
}

function isNonce(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function misuse(message: string) {
  return reject("expected_nonce", message);
}
