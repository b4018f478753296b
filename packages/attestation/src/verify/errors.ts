import { ConfspaceError, type ConfspaceErrorOptions, InvalidOptionError } from "@confspace/core";

/**
 * The check an attestation token failed. Stable strings, safe to branch on and to
 * count in metrics.
 *
 * Token shape: `size` (longer than `maxTokenBytes`), `format` (not a compact JWS, or
 * its parts are not base64url JSON), `header` (forbidden or missing header parameter:
 * `jku`, `x5u`, `jwk`, `crit`, `x5c` on an OIDC verifier, no `kid`), `algorithm` (not
 * `RS256`), `unknown_key` (no key of the issuer's JWKS has the token's `kid`),
 * `signature`.
 *
 * Registered claims: `issuer`, `audience`, `expired`, `not_yet_valid`, `too_old`
 * (`iat` older than `maxTokenAgeMs`), `issued_in_future`, `missing_claim`,
 * `claim_type` (a claim of the wrong JSON type, e.g. a string where an array belongs),
 * `nonce`.
 *
 * Workload policy: `hwmodel`, `swname`, `swversion`, `dbgstat`, `secboot`,
 * `support_attributes`, `image_digest`, `image_signature` (fewer than
 * `imageSignatures.threshold` distinct keys of `imageSignatures.keyIds` signed the image),
 * `project`, `service_account`, `restart_policy`, and `audience` again when the policy
 * names one. Evaluated by `@confspace/policy`'s `evaluatePolicy`: a claim the policy finds
 * absent or malformed is `missing_claim` or `claim_type`.
 *
 * Caller: `expected_nonce` (the nonces passed to `verify()` are missing, empty, not
 * strings, more than six or duplicated, or an unknown `verify()` option was passed).
 * No token can pass such a call; the token itself was not looked at.
 *
 * PKI tokens: `certificate_chain` (not exactly leaf, intermediate, root; unparsable; a
 * signature or CA constraint does not hold), `root_fingerprint` (root is not the pinned
 * one), `certificate_validity` (a certificate is outside its validity window).
 */
export type PolicyCheck =
  | "size"
  | "format"
  | "header"
  | "algorithm"
  | "unknown_key"
  | "signature"
  | "issuer"
  | "audience"
  | "expired"
  | "not_yet_valid"
  | "too_old"
  | "issued_in_future"
  | "missing_claim"
  | "claim_type"
  | "nonce"
  | "hwmodel"
  | "swname"
  | "swversion"
  | "dbgstat"
  | "secboot"
  | "support_attributes"
  | "image_digest"
  | "image_signature"
  | "project"
  | "service_account"
  | "restart_policy"
  | "certificate_chain"
  | "root_fingerprint"
  | "certificate_validity"
  | "expected_nonce";

/** Options of {@link AttestationPolicyError}. */
export interface AttestationPolicyErrorOptions extends ConfspaceErrorOptions {
  /** Name of the claim (dotted path for nested ones, e.g. `submods.container.image_digest`) or header parameter. */
  claim?: string;
}

/**
 * The token is not acceptable: malformed, badly signed, expired, or its claims do not
 * satisfy the policy. Retrying with the same token cannot succeed. Relying parties
 * usually answer 401/403.
 *
 * The message names what failed, never the token nor claim values. `check` says which
 * rule failed, `claim` which claim (if any).
 *
 * @example
 * ```ts
 * try {
 *   claims = await verifier.verify(token, { nonce });
 * } catch (error) {
 *   if (error instanceof AttestationPolicyError) return deny(403, error.check);
 *   if (error instanceof AttestationVerifierUnavailableError) return unavailable(503, error.retryAfterMs);
 *   throw error;
 * }
 * ```
 */
export class AttestationPolicyError extends ConfspaceError {
  /** The rule the token failed. */
  readonly check: PolicyCheck;
  /** The claim or header parameter concerned, if any. */
  readonly claim: string | undefined;

  constructor(check: PolicyCheck, message: string, options?: AttestationPolicyErrorOptions) {
    super("ERR_ATTESTATION_POLICY", message, options);
    this.check = check;
    this.claim = options?.claim;
  }
}

/**
 * An option of `createAttestationVerifier` is unknown, missing, malformed or unsafe
 * (e.g. `policy.imageDigest` for `imageDigests`, or a policy that pins no workload).
 * `option` names it as a dotted path (`audience`, `policy.imageDigests`). Thrown at
 * construction; `verify` throws it only when `options.clock` returns no finite number.
 * Code `ERR_INVALID_OPTION`.
 */
export class AttestationVerifierOptionError extends InvalidOptionError {}

/** Options of {@link AttestationVerifierUnavailableError}. */
export interface AttestationVerifierUnavailableErrorOptions extends ConfspaceErrorOptions {
  /** When the verifier will next try to reach the issuer, in ms from now. */
  retryAfterMs?: number;
}

/**
 * The verifier could not decide right now: the issuer's discovery document or JWKS
 * cannot be fetched and no usable key set is cached (never fetched, or stale beyond
 * `maxStaleMs`), or the token's `kid` is not in a key set fetched before the token was
 * issued (a key rotation) and the JWKS cooldown forbids fetching again yet. Says
 * nothing about the token; the same token may verify later.
 * Relying parties usually answer 503 with `Retry-After`.
 */
export class AttestationVerifierUnavailableError extends ConfspaceError {
  /** When the verifier will next try to reach the issuer, in ms from now (0: on the next call). */
  readonly retryAfterMs: number;

  constructor(message: string, options?: AttestationVerifierUnavailableErrorOptions) {
    super("ERR_VERIFIER_UNAVAILABLE", message, options);
    this.retryAfterMs = Math.max(0, Math.ceil(options?.retryAfterMs ?? 0));
  }
}

/** Shorthand used across the verifier: a policy error for `check`, optionally about `claim`. */
export function reject(check: PolicyCheck, message: string, claim?: string, cause?: unknown): AttestationPolicyError {
  // ConfspaceError keeps no `cause` that is undefined.
  return new AttestationPolicyError(check, message, { claim, cause });
}
