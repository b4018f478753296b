import { randomUUID } from "node:crypto";
import type { EmulatorClaims, TokenType } from "./profile.js";

/** The audience of the launcher's default token. */
export const DEFAULT_TOKEN_AUDIENCE = "https://sts.googleapis.com";

/** The claim that carries AWS session tags on `AWS_PRINCIPALTAGS` / `LIMITED_AWS` tokens. */
export const AWS_TAGS_CLAIM = "https://aws.amazon.com/tags";

/** What a minted token is for; everything else comes from the profile. */
export interface TokenClaimsInput {
  issuer: string;
  audience: string;
  nonces?: readonly string[];
  tokenType: TokenType;
  /** Key IDs allowed to appear in the `container.signatures.key_ids` principal tag; ignored unless `AWS_PRINCIPALTAGS`. */
  awsPrincipalTagKeyIds?: readonly string[];
  /** Seconds since the epoch. */
  issuedAt: number;
  lifetimeSeconds: number;
  jti?: string;
}

/**
 * The full claim set of one token: the profile's workload claims plus `iss`, `aud`,
 * `sub`, `exp`/`iat`/`nbf`, `jti`, `eat_nonce` (a string for one nonce, an array for
 * several, absent for none — as the real service) and, for AWS token types, the
 * principal tags claim.
 */
export function buildClaims(profile: EmulatorClaims, input: TokenClaimsInput): Record<string, unknown> {
  const { sub, ...workload } = structuredClone(profile);
  const { gce } = profile.submods;
  const claims: Record<string, unknown> = {
    ...workload,
    aud: input.audience,
    exp: input.issuedAt + input.lifetimeSeconds,
    iat: input.issuedAt,
    iss: input.issuer,
    jti: input.jti ?? randomUUID(),
    nbf: input.issuedAt,
    sub:
      sub ??
      `https://www.googleapis.com/compute/v1/projects/${gce.project_id}/zones/${gce.zone}/instances/${gce.instance_name}`,
  };
  const nonces = input.nonces ?? [];
  if (nonces.length === 1) claims.eat_nonce = nonces[0];
  else if (nonces.length > 1) claims.eat_nonce = [...nonces];
  if (input.tokenType === "AWS_PRINCIPALTAGS" || input.tokenType === "LIMITED_AWS") {
    // The launcher forwards the key-ID allowlist only with AWS_PRINCIPALTAGS
    // (go-tpm-tools verifier/rest): for LIMITED_AWS the service never sees it.
    const keyIds = input.tokenType === "AWS_PRINCIPALTAGS" ? (input.awsPrincipalTagKeyIds ?? []) : [];
    claims[AWS_TAGS_CLAIM] = { principal_tags: principalTags(profile, keyIds) };
  }
  // Sorted keys: stable payloads that are easy to compare in tests.
  return Object.fromEntries(Object.entries(claims).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * AWS session tags derived from the workload claims, following Google's documented
 * set ("AWS principal tag claims"): `hwmodel`, `swname`, `swversion`,
 * `confidential_space.support_attributes`, `gce.project_id`, `gce.zone`, and either
 * `container.image_digest` or `container.signatures.key_ids` — never both. AWS tag
 * values are strings, so each value is a one-element array and lists are joined with
 * `=` after sorting (`["LATEST=STABLE=USABLE"]`, key IDs `aKey1=bKey3=zKey2`).
 * `container.signatures.key_ids` lists the requested key IDs that actually signed the
 * image; when there is at least one, the image digest is left out (Google: "container
 * image signatures and digests don't appear together in a single token"). There is no
 * `dbgstat` tag: Google documents none, so a trust policy must not rely on one. Empty
 * values are left out.
 */
export function principalTags(profile: EmulatorClaims, allowedKeyIds: readonly string[]): Record<string, string[]> {
  const { container, gce, confidential_space: space } = profile.submods;
  const signedKeyIds = new Set((container.image_signatures ?? []).map((s) => s.key_id));
  const keyIds = [...new Set(allowedKeyIds.filter((id) => signedKeyIds.has(id)))].sort(byCodeUnit);
  const entries: [string, string | undefined][] = [
    ["hwmodel", profile.hwmodel],
    ["swname", profile.swname],
    ["swversion", joinList(profile.swversion)],
    [
      "confidential_space.support_attributes",
      joinList(space?.support_attributes && [...space.support_attributes].sort(byCodeUnit)),
    ],
    keyIds.length > 0
      ? ["container.signatures.key_ids", joinList(keyIds)]
      : ["container.image_digest", container.image_digest],
    ["gce.project_id", gce.project_id],
    ["gce.zone", gce.zone],
  ];
  const tags: Record<string, string[]> = {};
  for (const [key, value] of entries) if (typeof value === "string" && value !== "") tags[key] = [value];
  return tags;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function joinList(values: readonly unknown[] | undefined): string | undefined {
  if (!Array.isArray(values) || values.length === 0) return undefined;
  return values.map(String).join("=");
}
