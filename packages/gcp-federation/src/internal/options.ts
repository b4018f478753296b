import { DEFAULT_TOKEN_AUDIENCE } from "@confspace/attestation";
import { optionOrEnv } from "@confspace/core";
import { GcpFederationOptionError } from "../errors.js";
import type { FederatedAuthClientOptions } from "../federated-auth-client.js";
import {
  GCP_AUDIENCE_ENV,
  parseProviderAudience,
  providerAudience,
  type WorkloadIdentityProvider,
} from "../provider-audience.js";

export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";
export const JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt";

/** Options after defaults, environment and validation. */
export interface ResolvedOptions {
  provider: WorkloadIdentityProvider;
  serviceAccount: string | undefined;
  /** Set only when asked for explicitly. */
  lifetimeSeconds: number | undefined;
  scopes: string[];
  universeDomain: string;
  tokenUrl: string;
  impersonationUrl: string | undefined;
  quotaProjectId: string | undefined;
  /** A custom token audience; `undefined` means the launcher's default token. */
  tokenAudience: string | undefined;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** An endpoint that will receive the attestation token or an access token: https, or http on loopback only. */
function endpoint(option: string, value: string): URL {
  if (!URL.canParse(value)) throw new GcpFederationOptionError(option, `${option} "${value}" is not a URL.`);
  const url = new URL(value);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    throw new GcpFederationOptionError(
      option,
      `${option} must be https (plain http only on localhost): it receives an attestation or access token.`,
    );
  }
  return url;
}

function resolveProvider(options: FederatedAuthClientOptions): WorkloadIdentityProvider {
  const parts = [options.projectNumber, options.poolId, options.providerId];
  const someParts = parts.some((part) => part !== undefined);
  if (options.audience !== undefined && someParts) {
    throw new GcpFederationOptionError(
      "audience",
      "Give either audience or projectNumber + poolId + providerId, not both.",
    );
  }
  if (someParts) {
    if (parts.some((part) => part === undefined || part === "")) {
      throw new GcpFederationOptionError(
        options.projectNumber === undefined ? "projectNumber" : options.poolId === undefined ? "poolId" : "providerId",
        "projectNumber, poolId and providerId go together: give all three (or audience).",
      );
    }
    const audience = providerAudience({
      projectNumber: String(options.projectNumber),
      poolId: options.poolId!,
      providerId: options.providerId!,
    });
    return parseProviderAudience(audience);
  }
  if (options.audience !== undefined) return parseProviderAudience(options.audience);
  const fromEnv = optionOrEnv(undefined, GCP_AUDIENCE_ENV);
  if (fromEnv) return parseProviderAudience(fromEnv.value, GCP_AUDIENCE_ENV);
  throw new GcpFederationOptionError(
    "audience",
    `No workload identity pool provider: set the audience option (or projectNumber + poolId + providerId), or the environment variable ${GCP_AUDIENCE_ENV}, to //iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER.`,
    GCP_AUDIENCE_ENV,
  );
}

/** Applies defaults and validates; every error names the option at fault. */
export function resolveOptions(options: FederatedAuthClientOptions): ResolvedOptions {
  const provider = resolveProvider(options);
  const universeDomain = options.universeDomain ?? "googleapis.com";
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(universeDomain)) {
    throw new GcpFederationOptionError("universeDomain", `universeDomain "${universeDomain}" is not a domain name.`);
  }
  const tokenUrl = endpoint("tokenUrl", options.tokenUrl ?? `https://sts.${universeDomain}/v1/token`).toString();

  const serviceAccount = options.serviceAccount;
  if (serviceAccount !== undefined && !/^[^@\s/:]+@[a-z0-9.-]+\.[a-z]+$/.test(serviceAccount)) {
    throw new GcpFederationOptionError(
      "serviceAccount",
      `serviceAccount "${serviceAccount}" is not a service account email (NAME@PROJECT.iam.gserviceaccount.com).`,
    );
  }
  const lifetimeSeconds = options.serviceAccountTokenLifetimeSeconds;
  if (lifetimeSeconds !== undefined) {
    if (serviceAccount === undefined) {
      throw new GcpFederationOptionError(
        "serviceAccountTokenLifetimeSeconds",
        "serviceAccountTokenLifetimeSeconds applies to impersonation only: set serviceAccount too.",
      );
    }
    if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 600 || lifetimeSeconds > 43_200) {
      throw new GcpFederationOptionError(
        "serviceAccountTokenLifetimeSeconds",
        "serviceAccountTokenLifetimeSeconds must be a whole number from 600 to 43200 (over 3600 needs the organization policy constraints/iam.allowServiceAccountCredentialLifetimeExtension).",
      );
    }
  }
  let impersonationUrl: string | undefined;
  if (serviceAccount !== undefined) {
    const base = endpoint(
      "iamCredentialsEndpoint",
      options.iamCredentialsEndpoint ?? `https://iamcredentials.${universeDomain}`,
    );
    impersonationUrl = `${base.origin}${base.pathname.replace(/\/+$/, "")}/v1/projects/-/serviceAccounts/${serviceAccount}:generateAccessToken`;
  } else if (options.iamCredentialsEndpoint !== undefined) {
    throw new GcpFederationOptionError(
      "iamCredentialsEndpoint",
      "iamCredentialsEndpoint is used for impersonation only: set serviceAccount too.",
    );
  }

  const scopes =
    typeof options.scopes === "string" ? [options.scopes] : [...(options.scopes ?? [CLOUD_PLATFORM_SCOPE])];
  if (scopes.length === 0 || scopes.some((scope) => typeof scope !== "string" || scope === "")) {
    throw new GcpFederationOptionError("scopes", "scopes must be one or more non-empty OAuth scopes.");
  }
  const tokenAudience = options.tokenAudience;
  if (tokenAudience !== undefined && (tokenAudience === "" || tokenAudience === DEFAULT_TOKEN_AUDIENCE)) {
    throw new GcpFederationOptionError(
      "tokenAudience",
      `tokenAudience is for providers with their own allowed audience; leave it unset to use the launcher's default token (audience ${DEFAULT_TOKEN_AUDIENCE}).`,
    );
  }
  if (
    options.tokenSource !== undefined &&
    (tokenAudience !== undefined || options.tokenFile !== undefined || options.launcher !== undefined)
  ) {
    throw new GcpFederationOptionError(
      "tokenSource",
      "tokenSource replaces tokenAudience, tokenFile and launcher: give one or the other.",
    );
  }
  if (tokenAudience !== undefined && options.tokenFile !== undefined) {
    throw new GcpFederationOptionError(
      "tokenFile",
      "tokenFile is the default token's file; custom-audience tokens come from the launcher socket.",
    );
  }
  return {
    provider,
    serviceAccount,
    lifetimeSeconds,
    scopes,
    universeDomain,
    tokenUrl,
    impersonationUrl,
    quotaProjectId: options.quotaProjectId,
    tokenAudience,
  };
}
