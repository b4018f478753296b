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
  /** Key IDs allowed to appear in the `container.signatures.key_ids` principal tag. */
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
    claims[AWS_TAGS_CLAIM] = { principal_tags: principalTags(profile, input.awsPrincipalTagKeyIds ?? []) };
  }
  // Sorted keys: stable payloads that are easy to compare in tests.
  return Object.fromEntries(Object.entries(claims).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * AWS session tags derived from the workload claims. AWS tag values are strings, so
 * each value is a one-element array and lists are joined with `=`
 * (`confidential_space.support_attributes: ["LATEST=STABLE=USABLE"]`). Empty values
 * are left out. `container.signatures.key_ids` lists the requested key IDs that
 * actually signed the image. The tag set beyond the documented examples is modelled,
 * not observed: treat it as a sample.
 */
export function principalTags(profile: EmulatorClaims, allowedKeyIds: readonly string[]): Record<string, string[]> {
  const { container, gce, confidential_space: space } = profile.submods;
  const signedKeyIds = new Set((container.image_signatures ?? []).map((s) => s.key_id));
  const keyIds = allowedKeyIds.filter((id) => signedKeyIds.has(id));
  const entries: [string, string | undefined][] = [
    ["hwmodel", profile.hwmodel],
    ["swname", profile.swname],
    ["swversion", joinList(profile.swversion)],
    ["dbgstat", profile.dbgstat],
    [
      "confidential_space.support_attributes",
      joinList(space?.support_attributes && [...space.support_attributes].sort()),
    ],
    ["container.image_digest", container.image_digest],
    ["container.signatures.key_ids", joinList(keyIds)],
    ["gce.project_id", gce.project_id],
    ["gce.zone", gce.zone],
  ];
  const tags: Record<string, string[]> = {};
  for (const [key, value] of entries) if (typeof value === "string" && value !== "") tags[key] = [value];
  return tags;
}

function joinList(values: readonly unknown[] | undefined): string | undefined {
  if (!Array.isArray(values) || values.length === 0) return undefined;
  return values.map(String).join("=");
}
