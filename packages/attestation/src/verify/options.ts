import type { ResolvedWorkloadPolicy, WorkloadPolicy } from "@confspace/policy";
import type { ConfidentialSpaceClaims } from "../claims.js";

/**
 * What the workload in the token must be: the `WorkloadPolicy` of `@confspace/policy`,
 * the one policy that the broker's grants and the renderers (GCP workload identity,
 * Vault/OpenBao roles, AWS trust policies) read too, evaluated by its one evaluator.
 * Validated strictly at construction (unknown keys, formats, the workload pin): see that
 * package's README for every field. The verifier's `policy` option also takes a policy
 * already returned by its `validatePolicy`, as it is.
 *
 * **A policy must pin the workload**: `imageDigests`, `imageSignatures` (M of N signing
 * keys), or (`projectIds` or `projectNumbers`) together with `serviceAccounts`, or the
 * explicit `allowAnyWorkload: true`. Always enforced: `swname` is `CONFIDENTIAL_SPACE`,
 * `secboot` is `true`, `hwmodel` is never `GCP_SHIELDED_VM`.
 */
export type VerificationPolicy = WorkloadPolicy;

/** How the verifier gets the keys that sign the tokens it accepts. */
export type VerifierTokenType = "OIDC" | "PKI";

/**
 * Options of {@link createAttestationVerifier}. All durations are in milliseconds. An
 * unknown key is refused at construction with `AttestationVerifierOptionError`.
 */
export interface AttestationVerifierOptions {
  /**
   * The one audience accepted: `aud` must be this string or a one-element array holding
   * it. Required. Use a value that names your service; the launcher's default audience
   * `https://sts.googleapis.com` belongs to Google STS. When `policy.audience` is set too,
   * the two must be equal (refused at construction otherwise).
   */
  audience: string;
  /**
   * Expected `iss`, compared exactly (no trailing-slash or case folding). For OIDC tokens
   * also where the discovery document is fetched from (`{issuer}/.well-known/openid-configuration`),
   * whose `issuer` must equal it. Must be https, or http on loopback.
   * Default `https://confidentialcomputing.googleapis.com`.
   */
  issuer?: string;
  /**
   * Kind of token accepted, chosen here and never switched by a token header. `"OIDC"`:
   * signed by a key of the issuer's JWKS (also `AWS_PRINCIPALTAGS`/`LIMITED_AWS` tokens).
   * `"PKI"`: signed by the leaf of the `x5c` chain ending at the pinned root
   * (`pkiRootFingerprint` or `pkiRootCertificate`).
   * Default `"OIDC"`.
   */
  tokenType?: VerifierTokenType;
  /**
   * SHA-256 fingerprint of the PKI root certificate (DER), hex, colons optional,
   * any case. With `tokenType: "PKI"` exactly one of this and `pkiRootCertificate` is
   * required; refused otherwise. Google publishes only the root's SHA-1: see the README
   * for getting the SHA-256 with openssl.
   */
  pkiRootFingerprint?: string;
  /**
   * The PKI root certificate itself, one PEM `CERTIFICATE` block of a self-signed CA
   * (Google's is the `root_ca_uri` of `https://confidentialcomputing.googleapis.com/.well-known/attestation-pki-root`;
   * store it yourself after checking it against Google's published SHA-1). The pin is
   * the SHA-256 of its DER.
   * An alternative to `pkiRootFingerprint` with `tokenType: "PKI"`; refused otherwise.
   */
  pkiRootCertificate?: string;
  /**
   * JWKS URL to use instead of the discovery document's `jwks_uri`. https, or http on
   * loopback. Default: discovered once from the issuer, then pinned for the verifier's life.
   */
  jwksUri?: string;
  /**
   * Workload policy. Required: it must pin the workload or say `allowAnyWorkload: true`
   * (see {@link VerificationPolicy}).
   */
  policy: VerificationPolicy | ResolvedWorkloadPolicy;
  /**
   * Every `verify()` call must pass `nonce` or `nonces` (channel binding, e.g. TLS EKM),
   * and `eat_nonce` is required. Default `false`.
   */
  requireNonce?: boolean;
  /** Allowed clock skew for `exp`, `nbf`, `iat` and certificate validity. Default 30 000 (30 s). */
  clockToleranceMs?: number;
  /**
   * Maximum age of a token (`now - iat`), beyond `clockToleranceMs`. Default 3 600 000
   * (1 h, the lifetime of Confidential Space tokens).
   */
  maxTokenAgeMs?: number;
  /**
   * Longest token accepted, in bytes, checked before any parsing. Default 32 768 (32 KiB):
   * OIDC tokens are 1–3 KiB, PKI tokens carry three certificates in the header.
   */
  maxTokenBytes?: number;
  /** JWKS: a cached key set is refreshed after this age (on the next `verify`). Default 600 000 (10 min). */
  jwksCacheMaxAgeMs?: number;
  /**
   * JWKS: minimum time between two fetches triggered by an unknown `kid` or a failed
   * fetch, however many tokens arrive. Default 30 000 (30 s).
   */
  jwksCooldownMs?: number;
  /**
   * JWKS: when refreshing fails, the last good key set stays in use for this long after
   * it reached `jwksCacheMaxAgeMs`; later calls throw `AttestationVerifierUnavailableError`.
   * `0` disables stale use. Default 86 400 000 (24 h).
   */
  maxStaleMs?: number;
  /** Timeout of one discovery or JWKS request, body included. Default 5 000 (5 s). */
  httpTimeoutMs?: number;
  /** Largest discovery or JWKS response body, read incrementally. Default 65 536 (64 KiB). */
  maxResponseBytes?: number;
  /**
   * Current time in ms since the epoch, used for every time check and for the JWKS cache.
   * A function or an object with `now()` (core's `Clock`). Default `Date.now`. A reading
   * that is not a finite number fails `verify` with `AttestationVerifierOptionError`.
   */
  clock?: (() => number) | { now(): number };
  /** `fetch` used for discovery and JWKS. Default the global `fetch`. Redirects are never followed. */
  fetch?: typeof globalThis.fetch;
}

/**
 * Options of one {@link AttestationVerifier.verify} call. Set at most one of `nonce` and
 * `nonces`. Misuse (both, an empty or non-string nonce, more than six, duplicates, an
 * unknown key) throws `AttestationPolicyError` with check `expected_nonce`.
 */
export interface VerifyOptions {
  /**
   * The one nonce the token must carry: `eat_nonce` must be exactly this string, or a
   * one-element array holding it (constant-time compare). Same as `nonces: [nonce]`.
   * Default: none expected; a token carrying a nonce is then accepted (the nonce binds
   * nothing the caller checks).
   */
  nonce?: string;
  /**
   * The set of nonces the token must carry (1 to 6, the launcher's limit, each a
   * non-empty string, no duplicates): `eat_nonce` must hold exactly these, in any order,
   * each once, no other (a single nonce may be a string). Default: none expected.
   */
  nonces?: readonly string[];
}

/** Verifies Confidential Space attestation tokens against one issuer, audience and policy. */
export interface AttestationVerifier {
  /**
   * Verifies `token` and returns its claims, every documented claim type-checked.
   *
   * @throws AttestationPolicyError the token is not acceptable (`check`, `claim` say why),
   *   or (`check: "expected_nonce"`) `options` misuse the nonces.
   * @throws AttestationVerifierUnavailableError the issuer's keys cannot be obtained right
   *   now, or the token's key may be newer than the cached key set (retry after `retryAfterMs`).
   */
  verify(token: string, options?: VerifyOptions): Promise<ConfidentialSpaceClaims>;
  /**
   * Fetches the issuer's discovery document and JWKS now, so a relying party can pin them
   * at startup and fail fast on a wrong issuer or an unreachable JWKS. Resolves at once for
   * PKI verifiers (their trust anchor is the pinned root). Optional: `verify` fetches on demand.
   *
   * @throws AttestationVerifierUnavailableError the keys cannot be obtained.
   */
  ready(): Promise<void>;
}
