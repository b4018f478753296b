import { describe, expect, it } from "vitest";
import { buildClaims } from "../claims.js";
import { DEBUG_PROFILE, DEFAULT_PROFILE, resolveProfile } from "../profile.js";
import { acceptingPolicy, identitySummary } from "./identity-summary.js";

const claims = (profile: Parameters<typeof resolveProfile>[0]) =>
  buildClaims(resolveProfile(profile), {
    issuer: "http://127.0.0.1:1",
    audience: "https://sts.googleapis.com",
    tokenType: "OIDC",
    issuedAt: 1_700_000_000,
    lifetimeSeconds: 3600,
  });

describe("acceptingPolicy", () => {
  it("pins the default profile's image digest and needs no opt-in", () => {
    const digest = DEFAULT_PROFILE.submods.container.image_digest;
    expect(acceptingPolicy(claims("default"))).toEqual({
      policy: { imageDigests: [digest] },
      match: { imageDigests: [digest] },
    });
  });

  it("opts in to a debug image without support attributes, in the policy and the grant", () => {
    const digest = DEBUG_PROFILE.submods.container.image_digest;
    expect(acceptingPolicy(claims("debug"))).toEqual({
      policy: { imageDigests: [digest], supportAttributes: [], allowDebug: true },
      match: { imageDigests: [digest], supportAttributes: [], allowDebug: true },
    });
  });

  it("lists a hardware model off the verifier's default list, and pins nothing it does not see", () => {
    expect(acceptingPolicy(claims({ hwmodel: "GCP_ARM_CCA" })).policy).toMatchObject({
      hardwareModels: ["GCP_ARM_CCA"],
    });
    expect(acceptingPolicy(claims({ submods: { container: { image_digest: null } } })).match).toEqual({});
  });
});

describe("identitySummary", () => {
  it("shows the identity the tokens carry and the snippets, one value per line", () => {
    const text = identitySummary(claims("default"));
    const { container, gce } = DEFAULT_PROFILE.submods;
    expect(text).toContain(`  image_digest        ${container.image_digest}\n`);
    expect(text).toContain(`  project_id          ${gce.project_id}\n`);
    expect(text).toContain(`  project_number      ${gce.project_number}\n`);
    expect(text).toContain(`  instance            ${gce.instance_name} (id ${gce.instance_id}) in ${gce.zone}\n`);
    expect(text).toContain(`  service_accounts    ${DEFAULT_PROFILE.google_service_accounts.join(", ")}\n`);
    expect(text).toContain(`  dbgstat             disabled-since-boot\n`);
    expect(text).toContain(`\n  ${JSON.stringify({ imageDigests: [container.image_digest] })}\n`);
    expect(text).toContain(`    policy:\n      imageDigests: ["${container.image_digest}"]\n`);
    expect(text).toContain(`      match:\n        imageDigests: ["${container.image_digest}"]\n`);
    expect(text.endsWith("\n")).toBe(true);
  });
});
