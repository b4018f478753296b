import type { KeyObject } from "node:crypto";
import type { ConfidentialSpaceClaims } from "../claims.js";
import { checkClaimTypes } from "./claim-types.js";
import { reject } from "./errors.js";
import { expectedNonces } from "./expected-nonces.js";
import { decodeHeader, peekIssuedAt } from "./internal/compact.js";
import { verifyRs256 } from "./internal/rs256.js";
import { JwksCache } from "./jwks-cache.js";
import type { AttestationVerifier, AttestationVerifierOptions, VerifierTokenType, VerifyOptions } from "./options.js";
import { verifyPkiChain } from "./pki-chain.js";
import { checkPolicy } from "./policy.js";
import { checkAudience, checkNonces } from "./registered-claims.js";
import { type ResolvedOptions, resolveOptions } from "./resolve-options.js";
import { checkIssuerAndTimes } from "./time-claims.js";

/** Header parameters that point at keys chosen by whoever made the token: never followed. */
const FORBIDDEN_HEADERS = ["jku", "x5u", "jwk"] as const;

/**
 * Creates a verifier for Confidential Space attestation tokens: signature (OIDC via the
 * issuer's JWKS, or PKI via the `x5c` chain to a pinned root), `RS256` only, exact issuer
 * and audience, `exp`/`iat`/`nbf` required with a small tolerance and a maximum age,
 * optional nonce binding, the type of every documented claim, then the workload
 * {@link VerificationPolicy}, which must pin the workload (or say `allowAnyWorkload`).
 *
 * Options are checked here: `AttestationVerifierOptionError` names an unknown, bad or
 * unsafe one. Keys are fetched on the first `verify` call, or up front with `ready()`.
 *
 * @example
 * ```ts
 * const verifier = createAttestationVerifier({
 *   audience: "https://broker.example.com",
 *   policy: { imageDigests: ["sha256:…"], serviceAccounts: ["workload@my-project.iam.gserviceaccount.com"] },
 * });
 * const claims = await verifier.verify(token, { nonce });
 * console.log(claims.submods.container?.image_reference);
 * ```
 */
export function createAttestationVerifier(options: AttestationVerifierOptions): AttestationVerifier {
  const resolved = resolveOptions(options);
  const jwks =
    resolved.tokenType === "OIDC"
      ? new JwksCache({
          issuer: resolved.issuer,
          jwksUri: resolved.jwksUri,
          cacheMaxAgeMs: resolved.jwksCacheMaxAgeMs,
          cooldownMs: resolved.jwksCooldownMs,
          maxStaleMs: resolved.maxStaleMs,
          httpTimeoutMs: resolved.httpTimeoutMs,
          maxResponseBytes: resolved.maxResponseBytes,
          clockToleranceMs: resolved.clockToleranceMs,
          now: resolved.now,
          fetch: resolved.fetch,
        })
      : undefined;
  return Object.freeze({
    verify: (token: string, verifyOptions?: VerifyOptions) => verify(resolved, jwks, token, verifyOptions),
    ready: async () => {
      await jwks?.prefetch();
    },
  });
}

async function verify(
  options: ResolvedOptions,
  jwks: JwksCache | undefined,
  token: string,
  verifyOptions: VerifyOptions | undefined,
): Promise<ConfidentialSpaceClaims> {
  const nonces = expectedNonces(verifyOptions, options.requireNonce);

  const header = decodeHeader(token, options.maxTokenBytes);
  checkHeader(header, options.tokenType);
  let key: KeyObject;
  let now: number;
  if (jwks === undefined) {
    now = options.now();
    key = verifyPkiChain(header.x5c, {
      rootFingerprint: options.pkiRootFingerprint!,
      now,
      clockToleranceMs: options.clockToleranceMs,
    });
  } else {
    key = await jwks.getKey({ alg: "RS256", kid: header.kid as string }, () => peekIssuedAt(token));
    now = options.now();
  }

  const claims = verifyRs256(token, key);
  // Presence and type of every documented claim first: the checks after it rely on them.
  checkClaimTypes(claims);
  checkIssuerAndTimes(claims, {
    issuer: options.issuer,
    now,
    clockToleranceMs: options.clockToleranceMs,
    maxTokenAgeMs: options.maxTokenAgeMs,
  });
  checkAudience(claims, options.audience);
  if (nonces !== undefined) checkNonces(claims, nonces);
  checkPolicy(claims, options.policy);
  return claims;
}

/** Header rules that do not depend on keys. The header is untrusted at this point. */
function checkHeader(header: Record<string, unknown>, tokenType: VerifierTokenType): void {
  if (header.alg !== "RS256") throw reject("algorithm", "the token must be signed with RS256", "alg");
  for (const name of FORBIDDEN_HEADERS) {
    if (Object.hasOwn(header, name))
      throw reject("header", `the token carries a "${name}" header, never followed`, name);
  }
  // Confidential Space tokens use no JWS extensions; refuse any rather than relying on a library's list.
  if (Object.hasOwn(header, "crit")) throw reject("header", 'the token carries a "crit" header', "crit");
  if (tokenType === "OIDC") {
    if (Object.hasOwn(header, "x5c")) {
      throw reject("header", 'the token carries "x5c" but this verifier accepts OIDC tokens only', "x5c");
    }
    if (typeof header.kid !== "string" || header.kid.length === 0) {
      throw reject("header", 'the token has no "kid" header', "kid");
    }
  } else if (!Object.hasOwn(header, "x5c")) {
    throw reject("certificate_chain", 'the token has no "x5c" header but this verifier accepts PKI tokens only', "x5c");
  }
}
