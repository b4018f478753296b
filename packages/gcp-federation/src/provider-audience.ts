import { GcpFederationOptionError } from "./errors.js";

/** Environment variable holding the provider's resource name, read when neither `audience` nor its parts are given. */
export const GCP_AUDIENCE_ENV = "CONFSPACE_GCP_AUDIENCE";

/** A workload identity pool provider, by its parts. */
export interface WorkloadIdentityProvider {
  /** `//iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER`. */
  audience: string;
  /** The pool's project **number** (digits), not its project ID. */
  projectNumber: string;
  poolId: string;
  providerId: string;
}

const ID = /^[a-z0-9-]{4,32}$/;
const EXAMPLE =
  "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/POOL/providers/PROVIDER";

function checkId(kind: "pool" | "provider", value: string, option: string): void {
  if (!ID.test(value)) {
    throw new GcpFederationOptionError(
      option,
      `The ${kind} ID "${value}" is not valid: Google allows 4–32 characters of a-z, 0-9 and "-" (no upper case, no "_").`,
    );
  }
  if (value.startsWith("gcp-")) {
    throw new GcpFederationOptionError(option, `The ${kind} ID "${value}" starts with "gcp-", which Google reserves.`);
  }
}

function checkProjectNumber(value: string, option: string): void {
  if (!/^\d{1,20}$/.test(value)) {
    throw new GcpFederationOptionError(
      option,
      `"${value}" is not a project number. Workload identity pools are named by the project NUMBER (digits), not the project ID; find it with: gcloud projects describe PROJECT_ID --format='value(projectNumber)'.`,
    );
  }
}

/** Builds the provider's resource name from its parts, validating each. */
export function providerAudience(parts: { projectNumber: string; poolId: string; providerId: string }): string {
  checkProjectNumber(String(parts.projectNumber), "projectNumber");
  checkId("pool", parts.poolId, "poolId");
  checkId("provider", parts.providerId, "providerId");
  return `//iam.googleapis.com/projects/${parts.projectNumber}/locations/global/workloadIdentityPools/${parts.poolId}/providers/${parts.providerId}`;
}

/**
 * Parses and validates a provider resource name, the `audience` STS takes. Throws
 * {@link GcpFederationOptionError} saying what is wrong: the `https:` form (that is an
 * attestation token's audience, not STS's), a project ID where the number belongs, a
 * location other than `global`, a workforce pool, IDs Google would not accept.
 *
 * @example
 * ```ts
 * parseProviderAudience("//iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/cs/providers/attestation-verifier");
 * // → { projectNumber: "42", poolId: "cs", providerId: "attestation-verifier", audience: "//iam…" }
 * ```
 */
export function parseProviderAudience(audience: string, option = "audience"): WorkloadIdentityProvider {
  const fail = (why: string) =>
    new GcpFederationOptionError(
      option,
      `The provider audience "${audience}" is not valid: ${why}. Expected ${EXAMPLE}.`,
    );
  if (audience.trim() !== audience || audience === "") throw fail("it is empty or has surrounding whitespace");
  if (/^https?:\/\//.test(audience)) {
    throw fail(
      'it is a URL. STS takes the resource name starting with "//iam.googleapis.com/"; the "https:" form is only an attestation token\'s audience',
    );
  }
  const host = /^\/\/(iam\.[a-z0-9.-]+)\//.exec(audience);
  if (!host) throw fail('it must start with "//iam.googleapis.com/"');
  const path = audience.slice(host[0].length).split("/");
  if (path[0] === "locations" && path[2] === "workforcePools") {
    throw fail(
      "it names a workforce pool, which federates people; a Confidential Space workload needs a workload identity pool",
    );
  }
  if (path[0] !== "projects" || path.length < 2) throw fail('the path must begin with "projects/PROJECT_NUMBER"');
  checkProjectNumber(path[1]!, option);
  if (path[2] !== "locations") throw fail('"locations/global" must follow the project number');
  if (path[3] !== "global")
    throw fail(`workload identity pools live in locations/global, not locations/${path[3] ?? ""}`);
  if (path[4] !== "workloadIdentityPools" || path[5] === undefined)
    throw fail('"workloadIdentityPools/POOL" must follow the location');
  checkId("pool", path[5], option);
  if (path[6] !== "providers" || path[7] === undefined) throw fail('"providers/PROVIDER" must follow the pool');
  checkId("provider", path[7], option);
  if (path.length > 8) throw fail(`unexpected "/${path.slice(8).join("/")}" after the provider ID`);
  return { audience, projectNumber: path[1]!, poolId: path[5], providerId: path[7] };
}
