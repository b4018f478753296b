import { InvalidOptionError } from "@confspace/core";
import type { WorkloadPolicy } from "../workload-policy.js";
import {
  CONFIDENTIAL_SPACE,
  DEBUG_DISABLED,
  effectivePolicy,
  GOOGLE_ISSUER,
  type RenderCommonOptions,
  Unenforced,
  type UnenforcedClause,
} from "./internal/effective.js";

/** Options of {@link renderVault}. */
export interface VaultRenderOptions extends RenderCommonOptions {
  /** Issuer of the tokens (`oidc_discovery_url` and `bound_issuer`, never with a trailing slash). Default Google's. */
  issuer?: string;
  /**
   * Fetch the issuer's keys from this JWKS URL (`jwks_url`) instead of OIDC discovery
   * (`oidc_discovery_url`). Default: discovery at the issuer. Google's JWKS is
   * `https://www.googleapis.com/service_accounts/v1/metadata/jwk/signer@confidentialspace-sign.iam.gserviceaccount.com`.
   */
  jwksUrl?: string;
  /** Vault policies the login token gets (`token_policies`). Required, at least one. */
  tokenPolicies: readonly string[];
  /** `token_ttl`, seconds. Default 900. */
  tokenTtlSeconds?: number;
  /** `token_max_ttl`, seconds. Default 3600 (a token's own lifetime). */
  tokenMaxTtlSeconds?: number;
}

/** The body of `auth/JWT_MOUNT/config`: discovery at the issuer, or a JWKS URL. */
export type VaultAuthConfig = { bound_issuer: string } & ({ oidc_discovery_url: string } | { jwks_url: string });

/** The body of `auth/JWT_MOUNT/role/NAME`. */
export interface VaultRole {
  role_type: "jwt";
  user_claim: "sub";
  bound_audiences: string[];
  bound_claims_type: "string";
  bound_claims: Record<string, string | string[]>;
  claim_mappings: Record<string, string>;
  token_policies: string[];
  token_ttl: number;
  token_max_ttl: number;
}

/** What {@link renderVault} returns. */
export interface VaultRendering {
  authConfig: VaultAuthConfig;
  role: VaultRole;
  /** Clauses this rendering does not enforce, and why Vault cannot. */
  unenforced: UnenforcedClause[];
}

/**
 * Renders a {@link WorkloadPolicy} as a Vault / OpenBao JWT auth configuration and role:
 * `bound_claims` with JSON pointers (exact strings; AND across keys, any-of within a list;
 * a list-valued claim matches when one of its elements is listed).
 *
 * What `bound_claims` cannot say — a numeric minimum (`minSwVersion`), M of N signature
 * keys (`imageSignatures`), all of several support attributes, the `swversion` format and
 * `secboot` (a boolean) — throws {@link PolicyNotExpressibleError} unless allowed with
 * `allowUnenforced`; see the README.
 */
export function renderVault(policy: WorkloadPolicy, options: VaultRenderOptions): VaultRendering {
  const p = effectivePolicy(policy);
  if (p.audience === undefined)
    throw new InvalidOptionError("policy.audience", "renderVault: the policy needs an audience (bound_audiences)");
  if (options.tokenPolicies.length === 0)
    throw new InvalidOptionError("tokenPolicies", "renderVault: tokenPolicies needs at least one Vault policy");
  const issuer = (options.issuer ?? GOOGLE_ISSUER).replace(/\/+$/, "");
  if (options.jwksUrl !== undefined && !URL.canParse(options.jwksUrl)) {
    throw new InvalidOptionError("jwksUrl", "renderVault: jwksUrl must be a URL");
  }
  const unenforced = new Unenforced("vault", options);
  const bound: Record<string, string | string[]> = {
    "/swname": CONFIDENTIAL_SPACE,
    "/hwmodel": [...p.hardwareModels],
  };
  if (!p.allowDebug) bound["/dbgstat"] = DEBUG_DISABLED;
  unenforced.note("secboot", "bound_claims compares strings; secboot is a boolean");
  unenforced.note("swversionFormat", "bound_claims cannot check that swversion is one decimal string");
  if (p.minSwVersion !== undefined) unenforced.refuse("minSwVersion", "bound_claims has no numeric comparison");
  if (p.supportAttributes.length > 0) {
    // Any-of within one key: one attribute is expressible, all of several is not.
    bound["/submods/confidential_space/support_attributes"] = [p.supportAttributes[0]!];
    if (p.supportAttributes.length > 1) {
      unenforced.refuse("supportAttributes", "bound_claims accepts any one of a list, not all of several values");
    }
  }
  if (p.imageDigests) bound["/submods/container/image_digest"] = [...p.imageDigests];
  if (p.imageSignatures) {
    unenforced.refuse("imageSignatures", "a JSON pointer cannot reach the key_id of every image_signatures element");
  }
  if (p.projectIds) bound["/submods/gce/project_id"] = [...p.projectIds];
  if (p.projectNumbers) bound["/submods/gce/project_number"] = [...p.projectNumbers];
  if (p.serviceAccounts) bound["/google_service_accounts"] = [...p.serviceAccounts];
  if (p.restartPolicies) bound["/submods/container/restart_policy"] = [...p.restartPolicies];
  const projects = p.projectIds !== undefined || p.projectNumbers !== undefined;
  unenforced.requirePin(
    p,
    p.imageDigests !== undefined || (projects && p.serviceAccounts !== undefined),
    "image digests",
  );
  return {
    authConfig:
      options.jwksUrl === undefined
        ? { oidc_discovery_url: issuer, bound_issuer: issuer }
        : { jwks_url: options.jwksUrl, bound_issuer: issuer },
    role: {
      role_type: "jwt",
      user_claim: "sub",
      bound_audiences: [p.audience],
      bound_claims_type: "string",
      bound_claims: bound,
      // Token metadata for audit logs and templated policies.
      claim_mappings: {
        "/submods/container/image_digest": "image_digest",
        "/submods/gce/project_id": "project_id",
        "/submods/gce/instance_name": "instance_name",
      },
      token_policies: [...options.tokenPolicies],
      token_ttl: options.tokenTtlSeconds ?? 900,
      token_max_ttl: options.tokenMaxTtlSeconds ?? 3600,
    },
    unenforced: unenforced.list,
  };
}
