import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderAws } from "./aws.js";
import { renderBroker } from "./broker.js";
import { renderGcp } from "./gcp.js";
import { PolicyNotExpressibleError } from "./internal/effective.js";
import { renderVault } from "./vault.js";

const DIGEST = `sha256:${"ab".repeat(32)}`;
const AUDIENCE = "https://relying-party.example.com";
const KEYS = ["k1".repeat(32), "k2".repeat(32), "k3".repeat(32)];

/** IAM's StringLike: `*` any run, `?` one character. */
const like = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
    "s",
  ).test(value);
const anyLike = (patterns: readonly string[], value: string) => patterns.some((p) => like(p, value));
const likeOf = (rendering: ReturnType<typeof renderAws>, tag: string) =>
  rendering.trustPolicy.Statement[0]!.Condition.StringLike![`aws:RequestTag/${tag}`] as string[];

describe("renderAws", () => {
  it.each([1, 9, 10, 99, 100, 240500, 250301, 999999, 1000000])(
    "minSwVersion %i: the swversion patterns match exactly the decimal versions at or above it",
    (minimum) => {
      const patterns = likeOf(
        renderAws({ imageDigests: [DIGEST], audience: AUDIENCE, minSwVersion: minimum }, { accountId: "123456789012" }),
        "swversion",
      );
      const probes = new Set([0, 1, 2, 8, 9, 10, 11, 99, 100, 101, 240499, 240500, 250300, 250301, 250302, 259999]);
      for (const p of [minimum - 1, minimum, minimum + 1, minimum * 10, Math.floor(minimum / 10)])
        if (p >= 0) probes.add(p);
      // A fixed pseudo-random spread of versions (deterministic: a linear congruential sequence).
      for (let i = 0, x = minimum; i < 300; i++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        probes.add(x % (minimum * 3 + 1));
      }
      for (const version of probes) expect(anyLike(patterns, String(version)), `${version}`).toBe(version >= minimum);
    },
  );

  it.each([1, 2, 3])(
    "threshold %i of 3 keys: the key-ID patterns match exactly the tags holding that many listed keys",
    (threshold) => {
      const rendering = renderAws(
        { imageSignatures: { keyIds: KEYS, threshold }, audience: AUDIENCE },
        { accountId: "123456789012" },
      );
      const patterns = likeOf(rendering, "container.signatures.key_ids");
      expect(rendering.tokenOptions?.allowed_principal_tags.container_image_signatures.key_ids).toEqual(
        [...KEYS].sort(),
      );
      const pool = [...KEYS, "k0".repeat(32), "k9".repeat(32)];
      for (let mask = 1; mask < 1 << pool.length; mask++) {
        const signed = pool.filter((_, i) => mask & (1 << i));
        const tag = [...signed].sort().join("=");
        const listed = signed.filter((k) => KEYS.includes(k)).length;
        expect(anyLike(patterns, tag), tag).toBe(listed >= threshold);
      }
    },
  );

  it("requires every support attribute, whatever else the sorted tag holds", () => {
    const patterns = likeOf(
      renderAws(
        { imageDigests: [DIGEST], audience: AUDIENCE, supportAttributes: ["STABLE", "LATEST"] },
        { accountId: "123456789012" },
      ),
      "confidential_space.support_attributes",
    );
    expect(anyLike(patterns, "LATEST=STABLE=USABLE")).toBe(true);
    expect(anyLike(patterns, "LATEST=STABLE")).toBe(true);
    expect(anyLike(patterns, "STABLE=USABLE")).toBe(false);
    expect(anyLike(patterns, "LATEST=USABLE")).toBe(false);
  });

  it("refuses a service-account pin it cannot express, naming the clause; allowed, it still refuses a rendering that pins nothing", () => {
    const policy = {
      projectIds: ["operator-project"],
      serviceAccounts: ["w@operator-project.iam.gserviceaccount.com"],
      audience: AUDIENCE,
    };
    expect(() => renderAws(policy, { accountId: "123456789012" })).toThrow(
      expect.objectContaining({ code: "ERR_POLICY_NOT_EXPRESSIBLE", target: "aws", clause: "serviceAccounts" }),
    );
    expect(() => renderAws(policy, { accountId: "123456789012", allowUnenforced: ["serviceAccounts"] })).toThrow(
      /pins no workload/,
    );
  });
});

describe("renderVault", () => {
  it("refuses signature-only policies even when allowed: Vault would then pin no workload", () => {
    const policy = { imageSignatures: { keyIds: KEYS, threshold: 2 }, audience: AUDIENCE };
    expect(() => renderVault(policy, { tokenPolicies: ["p"] })).toThrow(PolicyNotExpressibleError);
    expect(() => renderVault(policy, { tokenPolicies: ["p"], allowUnenforced: ["imageSignatures"] })).toThrow(
      /pins no workload/,
    );
  });

  it("takes the keys from a JWKS URL instead of discovery when asked", () => {
    const jwks =
      "https://www.googleapis.com/service_accounts/v1/metadata/jwk/signer@confidentialspace-sign.iam.gserviceaccount.com";
    const { authConfig } = renderVault(
      { imageDigests: [DIGEST], audience: AUDIENCE },
      { tokenPolicies: ["p"], jwksUrl: jwks },
    );
    expect(authConfig).toEqual({ jwks_url: jwks, bound_issuer: "https://confidentialcomputing.googleapis.com" });
  });

  it("binds every claim the policy pins with a JSON pointer", () => {
    const { role } = renderVault(
      {
        imageDigests: [DIGEST],
        projectNumbers: ["1234"],
        serviceAccounts: ["w@p-project.iam.gserviceaccount.com"],
        restartPolicies: ["Never"],
        audience: AUDIENCE,
      },
      { tokenPolicies: ["p"] },
    );
    expect(Object.keys(role.bound_claims).sort()).toEqual(
      [
        "/dbgstat",
        "/google_service_accounts",
        "/hwmodel",
        "/submods/confidential_space/support_attributes",
        "/submods/container/image_digest",
        "/submods/container/restart_policy",
        "/submods/gce/project_number",
        "/swname",
      ].sort(),
    );
    expect(role.bound_audiences).toEqual([AUDIENCE]);
  });
});

describe("renderGcp and renderBroker", () => {
  it("bind one principalSet per digest, or the pool when the condition pins the workload otherwise", () => {
    const options = { poolProjectNumber: "42", poolId: "pool-a", providerId: "prov-a" };
    expect(renderGcp({ imageDigests: [DIGEST] }, options).members).toEqual([
      `principalSet://iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/pool-a/attribute.image_digest/${DIGEST}`,
    ]);
    const signed = renderGcp({ imageSignatures: { keyIds: KEYS, threshold: 2 } }, options);
    expect(signed.members).toEqual([
      "principalSet://iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/pool-a/*",
    ]);
    expect(signed.attributeCondition).toContain(") ? 1 : 0) >= 2");
    expect(() =>
      renderGcp(
        { imageDigests: Array.from({ length: 60 }, (_, i) => `sha256:${String(i).padStart(64, "0")}`) },
        options,
      ),
    ).toThrow(expect.objectContaining({ code: "ERR_POLICY_NOT_EXPRESSIBLE", target: "gcp" }));
  });

  it("writes a grant whose YAML reads back as the policy with its defaults", () => {
    const { grantYaml, match } = renderBroker({ imageDigests: [DIGEST], minSwVersion: 250301 }, { grantName: "app" });
    const [grant] = parse(grantYaml).grants;
    expect(grant).toEqual({ name: "app", match });
    expect(match).toMatchObject({
      supportAttributes: ["STABLE"],
      hardwareModels: ["GCP_AMD_SEV", "GCP_AMD_SEV_ES", "GCP_INTEL_TDX"],
    });
  });
});
