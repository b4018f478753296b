import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

/**
 * A CA certificate that names itself as its issuer (CN=root, no key identifiers) but is
 * signed by another key, made by the openssl CLI: it passes an issuer-name check and
 * fails the signature check.
 */
function rootSignedByAnotherKey(): string {
  const dir = mkdtempSync(join(tmpdir(), "confspace-pki-root-"));
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  try {
    writeFileSync(
      join(dir, "ca.ext"),
      "basicConstraints=critical,CA:TRUE\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n",
    );
    const newKey = ["-newkey", "rsa:2048", "-nodes", "-subj", "/CN=root"];
    openssl("req", "-x509", ...newKey, "-keyout", "other.key", "-out", "other.pem", "-days", "1");
    openssl("req", ...newKey, "-keyout", "root.key", "-out", "root.csr");
    openssl(
      "x509",
      "-req",
      "-in",
      "root.csr",
      "-CA",
      "other.pem",
      "-CAkey",
      "other.key",
      "-out",
      "root.pem",
      "-days",
      "1",
      "-extfile",
      "ca.ext",
    );
    return readFileSync(join(dir, "root.pem"), "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("resolvePkiRoot, edges", () => {
  it("accepts a PEM whose base64 runs into the END line", () => {
    const tight = chain.root.certificatePem.replace(/\n-----END/, "-----END");
    expect(resolvePkiRoot({ pkiRootCertificate: tight }, "PKI")?.toString("hex")).toBe(chain.rootFingerprint);
  });

  it("refuses a root that names itself as issuer but is signed by another key", () => {
    const error = refusal({ pkiRootCertificate: rootSignedByAnotherKey() });
    expect(error.message).toBe("options.pkiRootCertificate must be a self-signed CA certificate (the root)");
  });

  const FINGERPRINT_PROBLEM =
    'options.pkiRootFingerprint must be the SHA-256 of the root certificate in hex, or give pkiRootCertificate (tokenType "PKI")';
  it.each([
    ["one hex digit too many", () => `${chain.rootFingerprint}a`],
    ["a character before the hex", () => `x${chain.rootFingerprint}`],
    ["a character after the hex", () => `${chain.rootFingerprint}x`],
    ["a number", () => 42],
    ["SHA-256 in base64", () => Buffer.from(chain.rootFingerprint, "hex").toString("base64")],
  ])("refuses a fingerprint that is %s", (_name, fingerprint) => {
    const error = refusal({ pkiRootFingerprint: fingerprint() });
    expect(error).toMatchObject({ option: "pkiRootFingerprint", message: FINGERPRINT_PROBLEM });
  });

  it("says why each pin is refused on an OIDC verifier", () => {
    expect(refusal({ pkiRootFingerprint: chain.rootFingerprint }, "OIDC").message).toBe(
      'options.pkiRootFingerprint requires tokenType "PKI"',
    );
    expect(refusal({ pkiRootCertificate: chain.root.certificatePem }, "OIDC").message).toBe(
      'options.pkiRootCertificate requires tokenType "PKI"',
    );
  });
});
