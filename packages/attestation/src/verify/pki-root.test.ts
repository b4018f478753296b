import { createHash } from "node:crypto";
import { generatePkiChain, type PkiChain } from "@confspace/emulator";
import { beforeAll, describe, expect, it } from "vitest";
import { AttestationVerifierOptionError } from "./errors.js";
import { resolvePkiRoot } from "./pki-root.js";

let chain: PkiChain;

beforeAll(async () => {
  chain = await generatePkiChain();
});

function refusal(pin: Record<string, unknown>, tokenType = "PKI"): AttestationVerifierOptionError {
  try {
    resolvePkiRoot(pin, tokenType);
  } catch (error) {
    expect(error).toBeInstanceOf(AttestationVerifierOptionError);
    return error as AttestationVerifierOptionError;
  }
  throw new Error("expected a refusal");
}

describe("resolvePkiRoot", () => {
  it("turns a PEM root into the SHA-256 of its DER, the same pin as the fingerprint", () => {
    const pin = resolvePkiRoot({ pkiRootCertificate: chain.root.certificatePem }, "PKI");
    expect(pin?.toString("hex")).toBe(chain.rootFingerprint);
    expect(pin).toEqual(createHash("sha256").update(chain.root.certificateDer).digest());
  });

  it("accepts CRLF line ends and surrounding whitespace", () => {
    const crlf = `\n  ${chain.root.certificatePem.replaceAll("\n", "\r\n")}  \n`;
    expect(resolvePkiRoot({ pkiRootCertificate: crlf }, "PKI")?.toString("hex")).toBe(chain.rootFingerprint);
  });

  it("still reads a fingerprint with colons in any case", () => {
    const colons = chain.rootFingerprint.toUpperCase().replace(/(..)(?!$)/g, "$1:");
    expect(resolvePkiRoot({ pkiRootFingerprint: colons }, "PKI")?.toString("hex")).toBe(chain.rootFingerprint);
  });

  it("needs no pin for OIDC and refuses either pin there", () => {
    expect(resolvePkiRoot({}, "OIDC")).toBeUndefined();
    expect(refusal({ pkiRootFingerprint: chain.rootFingerprint }, "OIDC").option).toBe("pkiRootFingerprint");
    expect(refusal({ pkiRootCertificate: chain.root.certificatePem }, "OIDC").option).toBe("pkiRootCertificate");
  });

  it.each<[string, () => Record<string, unknown>, string, RegExp]>([
    ["no pin at all", () => ({}), "pkiRootFingerprint", /or give pkiRootCertificate/],
    [
      "both pins",
      () => ({ pkiRootFingerprint: chain.rootFingerprint, pkiRootCertificate: chain.root.certificatePem }),
      "pkiRootCertificate",
      /cannot be combined/,
    ],
    [
      "a certificate that is not a string",
      () => ({ pkiRootCertificate: chain.root.certificateDer }),
      "pkiRootCertificate",
      /PEM certificate string/,
    ],
    [
      "base64 DER without PEM armour",
      () => ({ pkiRootCertificate: chain.root.certificateDer.toString("base64") }),
      "pkiRootCertificate",
      /exactly one PEM CERTIFICATE block/,
    ],
    [
      "two certificates",
      () => ({ pkiRootCertificate: chain.root.certificatePem + chain.intermediate.certificatePem }),
      "pkiRootCertificate",
      /exactly one/,
    ],
    [
      "a certificate with text around it",
      () => ({ pkiRootCertificate: `root:\n${chain.root.certificatePem}` }),
      "pkiRootCertificate",
      /nothing else/,
    ],
    [
      "another PEM type",
      () => ({ pkiRootCertificate: chain.root.certificatePem.replaceAll("CERTIFICATE", "PUBLIC KEY") }),
      "pkiRootCertificate",
      /CERTIFICATE block/,
    ],
    [
      "garbage inside the armour",
      () => ({ pkiRootCertificate: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" }),
      "pkiRootCertificate",
      /not a readable X.509 certificate/,
    ],
    [
      "the intermediate (not self-signed)",
      () => ({ pkiRootCertificate: chain.intermediate.certificatePem }),
      "pkiRootCertificate",
      /self-signed CA/,
    ],
    [
      "the leaf (not a CA)",
      () => ({ pkiRootCertificate: chain.leaf.certificatePem }),
      "pkiRootCertificate",
      /self-signed CA/,
    ],
  ])("refuses %s, naming the option", (_name, pin, option, message) => {
    const error = refusal(pin());
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
  });
});
