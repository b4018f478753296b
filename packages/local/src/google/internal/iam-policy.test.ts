import { describe, expect, it } from "vitest";
import type { LocalFederatedPrincipal, LocalGooglePrincipal } from "../principals.js";
import { compileIamPolicy, isPermitted } from "./iam-policy.js";

const POOL = "projects/42/locations/global/workloadIdentityPools/trusted-workload-pool";
const IMAGE = "us-docker.pkg.dev/op/repo/app@sha256:abc";
const SUBJECT = "https://www.googleapis.com/compute/v1/projects/op/zones/z/instances/tee";
const DECRYPT = "cloudkms.cryptoKeyVersions.useToDecrypt";

const federated: LocalFederatedPrincipal = {
  kind: "federated",
  pool: POOL,
  subject: SUBJECT,
  groups: ["analysts"],
  attributes: { image_reference: IMAGE, support: ["STABLE", "USABLE"] },
  audience: `//iam.googleapis.com/${POOL}/providers/attestation-verifier`,
  scopes: ["https://www.googleapis.com/auth/cloud-platform"],
  expiresAt: Number.POSITIVE_INFINITY,
};

const allowed = (
  member: string,
  principal: LocalGooglePrincipal = federated,
  role = "roles/cloudkms.cryptoKeyDecrypter",
) => isPermitted(compileIamPolicy("test", [{ role, members: [member] }]), DECRYPT, principal);

describe("IAM members against a federated principal", () => {
  it.each([
    [
      "principalSet attribute with the exact image",
      `principalSet://iam.googleapis.com/${POOL}/attribute.image_reference/${IMAGE}`,
      true,
    ],
    ["principal subject (with slashes in it)", `principal://iam.googleapis.com/${POOL}/subject/${SUBJECT}`, true],
    ["principalSet of the whole pool", `principalSet://iam.googleapis.com/${POOL}/*`, true],
    ["principalSet group", `principalSet://iam.googleapis.com/${POOL}/group/analysts`, true],
    [
      "one element of a list-valued attribute",
      `principalSet://iam.googleapis.com/${POOL}/attribute.support/STABLE`,
      true,
    ],
    [
      "another image digest",
      `principalSet://iam.googleapis.com/${POOL}/attribute.image_reference/${IMAGE.replace("abc", "abd")}`,
      false,
    ],
    [
      "the image in another case",
      `principalSet://iam.googleapis.com/${POOL}/attribute.image_reference/${IMAGE.toUpperCase()}`,
      false,
    ],
    [
      "an attribute the principal lacks",
      `principalSet://iam.googleapis.com/${POOL}/attribute.image_digest/sha256:abc`,
      false,
    ],
    [
      "the same attribute in another pool",
      `principalSet://iam.googleapis.com/${POOL.replace("42", "43")}/attribute.image_reference/${IMAGE}`,
      false,
    ],
    ["another subject", `principal://iam.googleapis.com/${POOL}/subject/${SUBJECT}x`, false],
    ["another group", `principalSet://iam.googleapis.com/${POOL}/group/admins`, false],
    ["a service account", "serviceAccount:sa@p.iam.gserviceaccount.com", false],
  ])("%s → %s", (_name, member, expected) => {
    expect(allowed(member)).toBe(expected);
  });

  it("grants only the role's permissions: an Encrypter binding does not decrypt", () => {
    expect(allowed(`principalSet://iam.googleapis.com/${POOL}/*`, federated, "roles/cloudkms.cryptoKeyEncrypter")).toBe(
      false,
    );
    expect(
      allowed(`principalSet://iam.googleapis.com/${POOL}/*`, federated, "roles/cloudkms.cryptoKeyEncrypterDecrypter"),
    ).toBe(true);
  });

  it("matches service accounts (case-insensitively) and user members exactly", () => {
    const sa: LocalGooglePrincipal = {
      kind: "serviceAccount",
      email: "SA@p.iam.gserviceaccount.com",
      scopes: [],
      expiresAt: 1,
    };
    expect(allowed("serviceAccount:sa@p.iam.gserviceaccount.com", sa)).toBe(true);
    const user: LocalGooglePrincipal = { kind: "member", member: "user:alice@example.com", scopes: [], expiresAt: 1 };
    expect(allowed("user:alice@example.com", user)).toBe(true);
    expect(allowed("user:bob@example.com", user)).toBe(false);
  });

  it("refuses nothing without a policy", () => {
    expect(isPermitted(undefined, DECRYPT, federated)).toBe(false);
  });
});

describe("compileIamPolicy", () => {
  it.each([
    ["an unknown role", { role: "roles/owner", members: ["user:a@b.c"] }, /roles\/owner/],
    [
      "an https: principal",
      { role: "roles/cloudkms.cryptoKeyDecrypter", members: [`https://iam.googleapis.com/${POOL}/*`] },
      /not an IAM member/,
    ],
    [
      "a pool in another location",
      {
        role: "roles/cloudkms.cryptoKeyDecrypter",
        members: [`principalSet://iam.googleapis.com/${POOL.replace("global", "us")}/*`],
      },
      /not an IAM member/,
    ],
    [
      "an attribute name in upper case",
      {
        role: "roles/cloudkms.cryptoKeyDecrypter",
        members: [`principalSet://iam.googleapis.com/${POOL}/attribute.Image/x`],
      },
      /not an IAM member/,
    ],
  ])("refuses %s", (_name, binding, message) => {
    expect(() => compileIamPolicy("test", [binding])).toThrow(message);
  });
});
