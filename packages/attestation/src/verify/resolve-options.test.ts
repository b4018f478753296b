import { describe, expect, it } from "vitest";
import type { AttestationVerifierOptions } from "./options.js";
import { createAttestationVerifier } from "./verifier.js";

const FINGERPRINT = "ab".repeat(32);
const base: AttestationVerifierOptions = { audience: "https://relying-party.example" };

describe("createAttestationVerifier options", () => {
  const refused: [string, Partial<AttestationVerifierOptions> & Record<string, unknown>, RegExp][] = [
    ["no audience", { audience: "" }, /options\.audience/],
    ["GCP_SHIELDED_VM allowed", { policy: { hardwareModels: ["GCP_AMD_SEV", "GCP_SHIELDED_VM"] } }, /GCP_SHIELDED_VM/],
    ["empty digest allow-list", { policy: { imageDigests: [] } }, /policy\.imageDigests/],
    ["digest allow-list as a string", { policy: { imageDigests: "sha256:aa" as unknown as string[] } }, /imageDigests/],
    [
      "support attributes as a string",
      { policy: { supportAttributes: "STABLE" as unknown as string[] } },
      /supportAttributes/,
    ],
    ["fractional minSwVersion", { policy: { minSwVersion: 1.5 } }, /minSwVersion/],
    ["http issuer off loopback", { issuer: "http://issuer.example" }, /options\.issuer must be https/],
    ["issuer with credentials", { issuer: "https://u:p@issuer.example" }, /credentials/],
    ["issuer with a query", { issuer: "https://issuer.example?x=1" }, /query/],
    ["ftp jwksUri", { jwksUri: "ftp://127.0.0.1/jwks" }, /options\.jwksUri/],
    ["unknown tokenType", { tokenType: "AWS_PRINCIPALTAGS" as "OIDC" }, /tokenType/],
    ["PKI without fingerprint", { tokenType: "PKI" }, /pkiRootFingerprint/],
    [
      "PKI with a SHA-1 fingerprint",
      { tokenType: "PKI", pkiRootFingerprint: "B9:51:20:74:2C:24:E3:AA:34:04:2E:1C:3B:A3:AA:D2:8B:21:23:21" },
      /SHA-256/,
    ],
    ["fingerprint on an OIDC verifier", { pkiRootFingerprint: FINGERPRINT }, /requires tokenType "PKI"/],
    [
      "jwksUri on a PKI verifier",
      { tokenType: "PKI", pkiRootFingerprint: FINGERPRINT, jwksUri: "https://k.example/jwks" },
      /jwksUri/,
    ],
    ["negative tolerance", { clockToleranceMs: -1 }, /clockToleranceMs/],
    ["zero maxTokenBytes", { maxTokenBytes: 0 }, /maxTokenBytes/],
    ["string requireNonce", { requireNonce: "yes" as unknown as boolean }, /requireNonce/],
    ["string allowDebug", { policy: { allowDebug: "true" as unknown as boolean } }, /allowDebug/],
  ];
  it.each(refused)("throws a TypeError for %s", (_name, options, message) => {
    expect(() => createAttestationVerifier({ ...base, ...options })).toThrow(TypeError);
    expect(() => createAttestationVerifier({ ...base, ...options })).toThrow(message);
  });

  const accepted: [string, Partial<AttestationVerifierOptions>][] = [
    ["defaults (the real issuer)", {}],
    ["http on 127.0.0.1", { issuer: "http://127.0.0.1:8080" }],
    ["http on 127.8.9.10", { issuer: "http://127.8.9.10" }],
    ["http on [::1]", { issuer: "http://[::1]:8080" }],
    ["http on localhost", { issuer: "http://localhost:8080" }],
    [
      "fingerprint with colons, upper case",
      { tokenType: "PKI", pkiRootFingerprint: FINGERPRINT.toUpperCase().replace(/(..)(?!$)/g, "$1:") },
    ],
    ["fingerprint as lower-case hex", { tokenType: "PKI", pkiRootFingerprint: FINGERPRINT }],
    ["an empty support-attribute requirement", { policy: { supportAttributes: [] } }],
    ["a clock object", { clock: { now: () => 0 } }],
  ];
  it.each(accepted)("accepts %s", (_name, options) => {
    expect(typeof createAttestationVerifier({ ...base, ...options }).verify).toBe("function");
  });

  it("refuses http on a host that only starts with 127", () => {
    expect(() => createAttestationVerifier({ ...base, issuer: "http://127.0.0.1.nip.io" })).toThrow(TypeError);
  });
});
