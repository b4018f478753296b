import { describe, expect, it } from "vitest";
import { GcpFederationOptionError } from "./errors.js";
import { parseProviderAudience, providerAudience } from "./provider-audience.js";

const GOOD =
  "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/trusted-workload-pool/providers/attestation-verifier";

describe("parseProviderAudience", () => {
  it("splits a valid resource name into its parts", () => {
    expect(parseProviderAudience(GOOD)).toEqual({
      audience: GOOD,
      projectNumber: "123456789012",
      poolId: "trusted-workload-pool",
      providerId: "attestation-verifier",
    });
  });

  it.each([
    ["the https: form", `https:${GOOD}`, /is a URL\. STS takes the resource name/],
    ["no leading //", GOOD.slice(2), /must start with "\/\/iam\.googleapis\.com\/"/],
    [
      "a project ID instead of the number",
      GOOD.replace("123456789012", "my-project"),
      /not a project number.*gcloud projects describe/,
    ],
    [
      "another location",
      GOOD.replace("locations/global", "locations/us-central1"),
      /locations\/global, not locations\/us-central1/,
    ],
    ["a workforce pool", "//iam.googleapis.com/locations/global/workforcePools/staff/providers/okta", /workforce pool/],
    [
      "an upper-case pool ID",
      GOOD.replace("trusted-workload-pool", "Trusted-Pool"),
      /pool ID "Trusted-Pool".*no upper case/,
    ],
    ["a pool ID of 3 characters", GOOD.replace("trusted-workload-pool", "abc"), /pool ID "abc"/],
    ["a reserved gcp- provider ID", GOOD.replace("attestation-verifier", "gcp-verifier"), /reserves/],
    ["an underscore in the provider ID", GOOD.replace("attestation-verifier", "attestation_verifier"), /provider ID/],
    ["no providers segment", GOOD.replace("/providers/attestation-verifier", ""), /providers\/PROVIDER/],
    ["a trailing path", `${GOOD}/keys/1`, /unexpected "\/keys\/1"/],
    ["surrounding whitespace", ` ${GOOD}`, /whitespace/],
    ["an empty string", "", /empty/],
  ])("refuses %s, saying what is wrong", (_name, audience, message) => {
    let error: unknown;
    try {
      parseProviderAudience(audience);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GcpFederationOptionError);
    expect(error).toMatchObject({ code: "ERR_INVALID_OPTION", option: "audience" });
    expect((error as Error).message).toMatch(message);
  });
});

describe("providerAudience", () => {
  it("builds the resource name from its parts", () => {
    expect(
      providerAudience({
        projectNumber: "123456789012",
        poolId: "trusted-workload-pool",
        providerId: "attestation-verifier",
      }),
    ).toBe(GOOD);
  });

  it.each([
    [
      "projectNumber",
      { projectNumber: "my-project", poolId: "trusted-workload-pool", providerId: "attestation-verifier" },
    ],
    ["poolId", { projectNumber: "1", poolId: "Pool", providerId: "attestation-verifier" }],
    ["providerId", { projectNumber: "1", poolId: "trusted-workload-pool", providerId: "x" }],
  ])("names the bad part: %s", (option, parts) => {
    expect(() => providerAudience(parts)).toThrow(expect.objectContaining({ option }));
  });
});
