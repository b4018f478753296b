import { InvalidOptionError } from "@confspace/core";
import type { JWTVerifyGetKey } from "jose";
import { issuerKeys } from "../../internal/oidc-keys.js";
import { type AttributeRules, compileAttributeRules } from "./wif-attributes.js";

/**
 * Full resource name of a workload identity pool provider, the form STS takes as
 * `audience`: `//iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER`
 * (pool and provider ids: 4–32 of `a-z`, `0-9`, `-`).
 */
const WORKLOAD_PROVIDER =
  /^\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/[a-z0-9-]{4,32}\/providers\/[a-z0-9-]{4,32}$/;

/** Workforce pool providers are well-formed audiences too, though no local provider can be one. */
const WORKFORCE_PROVIDER =
  /^\/\/iam\.googleapis\.com\/locations\/global\/workforcePools\/[a-z0-9-]{6,63}\/providers\/[a-z0-9-]{4,32}$/;

/** True when `audience` has the shape of a provider resource name (it may still not exist). */
export function isProviderResourceName(audience: string): boolean {
  return WORKLOAD_PROVIDER.test(audience) || WORKFORCE_PROVIDER.test(audience);
}

/** A configured OIDC workload identity pool provider. */
export interface WifProvider {
  /** `//iam.googleapis.com/projects/…/providers/X`. */
  audience: string;
  issuer: string;
  /**
   * `aud` values a subject token may carry. Google: when none are configured, the
   * audience must be the provider's full canonical resource name, with or without the
   * `https:` prefix.
   */
  acceptedAudiences: ReadonlySet<string>;
  keys: () => Promise<JWTVerifyGetKey>;
  /** `projects/NUMBER/locations/global/workloadIdentityPools/POOL`: the pool IAM members name. */
  pool: string;
  /** Compiled attribute mapping (default `google.subject=assertion.sub`) and condition. */
  rules: AttributeRules;
}

/** Validates one provider of the options and prepares its key resolution. */
export function createWifProvider(config: {
  audience: string;
  issuer: string;
  jwksUri?: string;
  allowedAudiences?: string[];
  attributeMapping?: string | Readonly<Record<string, string>>;
  attributeCondition?: string;
}): WifProvider {
  if (!WORKLOAD_PROVIDER.test(config.audience)) {
    throw new InvalidOptionError(
      "providers[].audience",
      `startLocalGoogleSts: provider audience "${config.audience}" is not ` +
        "//iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER",
    );
  }
  if (!URL.canParse(config.issuer))
    throw new InvalidOptionError("providers[].issuer", `startLocalGoogleSts: issuer "${config.issuer}" is not a URL`);
  if (config.jwksUri !== undefined && !URL.canParse(config.jwksUri)) {
    throw new InvalidOptionError(
      "providers[].jwksUri",
      `startLocalGoogleSts: jwksUri "${config.jwksUri}" is not a URL`,
    );
  }
  const allowed = config.allowedAudiences ?? [];
  if (allowed.length > 10)
    throw new InvalidOptionError(
      "providers[].allowedAudiences",
      "startLocalGoogleSts: Google allows at most 10 allowedAudiences",
    );
  const acceptedAudiences = new Set(allowed.length > 0 ? allowed : [config.audience, `https:${config.audience}`]);
  return {
    audience: config.audience,
    issuer: config.issuer,
    acceptedAudiences,
    keys: issuerKeys(config.issuer, config.jwksUri),
    pool: config.audience.slice("//iam.googleapis.com/".length).replace(/\/providers\/[^/]+$/, ""),
    rules: compileAttributeRules(
      `startLocalGoogleSts: provider ${config.audience}`,
      config.attributeMapping,
      config.attributeCondition,
    ),
  };
}
