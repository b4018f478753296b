import { describe, expect, it } from "vitest";
import { AWS_TAGS_CLAIM, buildClaims, principalTags } from "./claims.js";
import { DEBUG_PROFILE, DEFAULT_PROFILE, type EmulatorClaims, resolveProfile } from "./profile.js";

const input = {
  issuer: "http://127.0.0.1:1234",
  audience: "https://broker.example",
  tokenType: "OIDC" as const,
  issuedAt: 1_750_000_000,
  lifetimeSeconds: 3600,
};

describe("buildClaims", () => {
  it("sets the per-token claims from the request and the emulator's own issuer", () => {
    const claims = buildClaims(DEFAULT_PROFILE, input);
    expect(claims).toMatchObject({
      iss: "http://127.0.0.1:1234",
      aud: "https://broker.example",
      iat: 1_750_000_000,
      nbf: 1_750_000_000,
      exp: 1_750_003_600,
    });
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(buildClaims(DEFAULT_PROFILE, input).jti).not.toBe(claims.jti);
  });

  it("derives sub from the GCE project, zone and instance", () => {
    expect(buildClaims(DEFAULT_PROFILE, input).sub).toBe(
      "https://www.googleapis.com/compute/v1/projects/confspace-emulator/zones/us-central1-a/instances/confspace-workload",
    );
    expect(buildClaims(resolveProfile({ sub: "custom" }), input).sub).toBe("custom");
  });

  it("carries the profile's workload claims with the service's types", () => {
    const claims = buildClaims(DEFAULT_PROFILE, input) as Record<string, unknown> & EmulatorClaims;
    expect(claims.hwmodel).toBe("GCP_AMD_SEV");
    expect(claims.swversion).toEqual(["250301"]);
    expect(claims.secboot).toBe(true);
    expect(claims.oemid).toBe(11129);
    expect(typeof claims.submods.gce.project_number).toBe("string");
    expect(typeof claims.submods.gce.instance_id).toBe("string");
    expect(claims.submods.container.image_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(claims.submods.confidential_space.support_attributes).toEqual(["LATEST", "STABLE", "USABLE"]);
  });

  it("makes eat_nonce a string for one nonce, an array for several and leaves it out for none", () => {
    expect(buildClaims(DEFAULT_PROFILE, { ...input, nonces: ["aaaaaaaaaa"] }).eat_nonce).toBe("aaaaaaaaaa");
    expect(buildClaims(DEFAULT_PROFILE, { ...input, nonces: ["aaaaaaaaaa", "bbbbbbbbbb"] }).eat_nonce).toEqual([
      "aaaaaaaaaa",
      "bbbbbbbbbb",
    ]);
    expect(buildClaims(DEFAULT_PROFILE, { ...input, nonces: [] })).not.toHaveProperty("eat_nonce");
    expect(buildClaims(DEFAULT_PROFILE, input)).not.toHaveProperty("eat_nonce");
  });

  it("does not share arrays or objects with the profile", () => {
    const claims = buildClaims(DEFAULT_PROFILE, input) as { swversion: string[] };
    claims.swversion.push("mutated");
    expect(DEFAULT_PROFILE.swversion).toEqual(["250301"]);
  });

  it("adds the AWS principal tags claim only for AWS token types", () => {
    expect(buildClaims(DEFAULT_PROFILE, input)).not.toHaveProperty([AWS_TAGS_CLAIM]);
    expect(buildClaims(DEFAULT_PROFILE, { ...input, tokenType: "PKI" })).not.toHaveProperty([AWS_TAGS_CLAIM]);
    for (const tokenType of ["AWS_PRINCIPALTAGS", "LIMITED_AWS"] as const) {
      const claims = buildClaims(DEFAULT_PROFILE, { ...input, tokenType });
      expect(claims[AWS_TAGS_CLAIM]).toEqual({ principal_tags: principalTags(DEFAULT_PROFILE, []) });
    }
  });

  it("ignores the key-ID allowlist for LIMITED_AWS, as the launcher drops it", () => {
    const signed = resolveProfile({
      submods: {
        container: {
          image_signatures: [{ key_id: "k1", signature: "c2ln", signature_algorithm: "ECDSA_P256_SHA256" }],
        },
      },
    });
    const tags = (tokenType: "AWS_PRINCIPALTAGS" | "LIMITED_AWS") =>
      (
        buildClaims(signed, { ...input, tokenType, awsPrincipalTagKeyIds: ["k1"] })[AWS_TAGS_CLAIM] as {
          principal_tags: Record<string, string[]>;
        }
      ).principal_tags;
    expect(tags("AWS_PRINCIPALTAGS")["container.signatures.key_ids"]).toEqual(["k1"]);
    expect(tags("LIMITED_AWS")).not.toHaveProperty(["container.signatures.key_ids"]);
    expect(tags("LIMITED_AWS")["container.image_digest"]).toEqual([signed.submods.container.image_digest]);
  });

  it("emits keys in sorted order", () => {
    const keys = Object.keys(buildClaims(DEFAULT_PROFILE, { ...input, nonces: ["aaaaaaaaaa"] }));
    expect(keys).toEqual([...keys].sort());
  });
});

describe("principalTags", () => {
  it("gives every tag a one-element string array, joining lists with '='", () => {
    const tags = principalTags(DEFAULT_PROFILE, []);
    expect(tags["confidential_space.support_attributes"]).toEqual(["LATEST=STABLE=USABLE"]);
    expect(tags["container.image_digest"]).toEqual([DEFAULT_PROFILE.submods.container.image_digest]);
    expect(tags["gce.project_id"]).toEqual(["confspace-emulator"]);
    expect(tags.swversion).toEqual(["250301"]);
    for (const value of Object.values(tags)) {
      expect(value).toHaveLength(1);
      expect(typeof value[0]).toBe("string");
    }
  });

  it("sorts support attributes and leaves the tag out when there are none", () => {
    const shuffled = resolveProfile({ submods: { confidential_space: { support_attributes: ["USABLE", "LATEST"] } } });
    expect(principalTags(shuffled, [])["confidential_space.support_attributes"]).toEqual(["LATEST=USABLE"]);
    expect(principalTags(DEBUG_PROFILE, [])).not.toHaveProperty(["confidential_space.support_attributes"]);
  });

  it("carries exactly Google's documented tags: no dbgstat, production or debug", () => {
    const documented = [
      "confidential_space.support_attributes",
      "container.image_digest",
      "gce.project_id",
      "gce.zone",
      "hwmodel",
      "swname",
      "swversion",
    ];
    expect(Object.keys(principalTags(DEFAULT_PROFILE, [])).sort()).toEqual(documented);
    expect(principalTags(DEBUG_PROFILE, [])).not.toHaveProperty(["dbgstat"]);
  });

  it("lists only requested key IDs that signed the image", () => {
    const signed = resolveProfile({
      submods: {
        container: {
          image_signatures: [
            { key_id: "k1", signature: "c2ln", signature_algorithm: "ECDSA_P256_SHA256" },
            { key_id: "k2", signature: "c2ln", signature_algorithm: "ECDSA_P256_SHA256" },
          ],
        },
      },
    });
    expect(principalTags(signed, ["k2", "unknown"])["container.signatures.key_ids"]).toEqual(["k2"]);
    expect(principalTags(signed, ["unknown"])).not.toHaveProperty(["container.signatures.key_ids"]);
    expect(principalTags(DEFAULT_PROFILE, ["k1"])).not.toHaveProperty(["container.signatures.key_ids"]);
  });

  it("sorts the key IDs before joining them, whatever order they were requested or signed in", () => {
    const signed = resolveProfile({
      submods: {
        container: {
          image_signatures: ["zKey2", "aKey1", "bKey3"].map((key_id) => ({
            key_id,
            signature: "c2ln",
            signature_algorithm: "ECDSA_P256_SHA256",
          })),
        },
      },
    });
    // Google's own example: aKey1, zKey2, bKey3 -> aKey1=bKey3=zKey2.
    expect(principalTags(signed, ["aKey1", "zKey2", "bKey3"])["container.signatures.key_ids"]).toEqual([
      "aKey1=bKey3=zKey2",
    ]);
    expect(principalTags(signed, ["zKey2", "aKey1", "zKey2"])["container.signatures.key_ids"]).toEqual(["aKey1=zKey2"]);
  });

  it("never puts the image digest and the key IDs in the same token", () => {
    const signed = resolveProfile({
      submods: {
        container: {
          image_signatures: [{ key_id: "k1", signature: "c2ln", signature_algorithm: "ECDSA_P256_SHA256" }],
        },
      },
    });
    const withKeys = principalTags(signed, ["k1"]);
    expect(withKeys["container.signatures.key_ids"]).toEqual(["k1"]);
    expect(withKeys).not.toHaveProperty(["container.image_digest"]);
    const noMatch = principalTags(signed, ["other"]);
    expect(noMatch["container.image_digest"]).toEqual([signed.submods.container.image_digest]);
    expect(noMatch).not.toHaveProperty(["container.signatures.key_ids"]);
  });
});
