// Pinning the PKI root by its certificate (PEM) instead of its SHA-256 fingerprint.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Emulator, generatePkiChain, type PkiChain, startEmulator } from "@confspace/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttestationPolicyError, AttestationVerifierOptionError } from "./errors.js";
import type { AttestationVerifierOptions } from "./options.js";
import { createAttestationVerifier } from "./verifier.js";

const AUDIENCE = "https://relying-party.example";
const NOW = Date.now();

let emu: Emulator;
let foreign: PkiChain;

beforeAll(async () => {
  emu = await startEmulator({ now: () => NOW, writeTokenFile: false });
  foreign = await generatePkiChain({ now: NOW });
});

afterAll(() => emu?.stop());

function options(extra: Record<string, unknown>): AttestationVerifierOptions {
  return {
    issuer: emu.issuer,
    audience: AUDIENCE,
    tokenType: "PKI",
    clock: () => NOW,
    policy: { allowAnyWorkload: true },
    ...extra,
  } as AttestationVerifierOptions;
}

function mint(chain?: PkiChain): Promise<string> {
  return emu.mintToken({
    audience: AUDIENCE,
    issuedAt: Math.floor(NOW / 1000) - 60,
    tokenType: "PKI",
    ...(chain ? { pkiChain: chain } : {}),
  });
}

describe("PKI verifier pinned with pkiRootCertificate", () => {
  it("accepts a token whose x5c ends at the pinned certificate", async () => {
    const verifier = createAttestationVerifier(options({ pkiRootCertificate: emu.pkiRootCertificatePem }));
    const claims = await verifier.verify(await mint());
    expect(claims.aud).toBe(AUDIENCE);
  });

  it("refuses a token on another root, with the same check as a fingerprint pin", async () => {
    const verifier = createAttestationVerifier(options({ pkiRootCertificate: emu.pkiRootCertificatePem }));
    const token = await mint(foreign);
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(AttestationPolicyError);
    await expect(verifier.verify(token)).rejects.toMatchObject({ check: "root_fingerprint" });
  });

  it("pins the same root as the certificate's SHA-256 fingerprint", async () => {
    const byPem = createAttestationVerifier(options({ pkiRootCertificate: foreign.root.certificatePem }));
    const byHash = createAttestationVerifier(options({ pkiRootFingerprint: foreign.rootFingerprint }));
    const token = await mint(foreign);
    expect(await byPem.verify(token)).toEqual(await byHash.verify(token));
  });

  it("is a known option: listed when an unknown one is refused", () => {
    expect(() => createAttestationVerifier(options({ pkiRootCert: emu.pkiRootCertificatePem }))).toThrow(
      /pkiRootCert is not an option \(known: .*pkiRootCertificate/,
    );
  });

  it("refuses it next to pkiRootFingerprint, and on an OIDC verifier", () => {
    const both = options({ pkiRootCertificate: emu.pkiRootCertificatePem, pkiRootFingerprint: emu.pkiRootFingerprint });
    expect(() => createAttestationVerifier(both)).toThrow(AttestationVerifierOptionError);
    expect(() => createAttestationVerifier(both)).toThrow(/pkiRootCertificate cannot be combined/);
    const oidc = options({ tokenType: "OIDC", pkiRootCertificate: emu.pkiRootCertificatePem });
    expect(() => createAttestationVerifier(oidc)).toThrow(/pkiRootCertificate requires tokenType "PKI"/);
  });
});

describe("the README's openssl recipe", () => {
  it("prints, as sha256 Fingerprint=, the pin the verifier derives from the PEM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "confspace-pki-root-"));
    try {
      const file = join(dir, "confidential_space_root.crt");
      writeFileSync(file, emu.pkiRootCertificatePem);
      const fingerprint = (algorithm: string) =>
        execFileSync("openssl", ["x509", "-in", file, "-noout", "-fingerprint", `-${algorithm}`], { encoding: "utf8" })
          .trim()
          .replace(/^\w+ Fingerprint=/i, "");
      const sha256 = fingerprint("sha256");
      expect(sha256.replaceAll(":", "").toLowerCase()).toBe(emu.pkiRootFingerprint);
      // Pasted as printed (upper case, colons), it pins the same root.
      const verifier = createAttestationVerifier(options({ pkiRootFingerprint: sha256 }));
      expect((await verifier.verify(await mint())).aud).toBe(AUDIENCE);
      expect(fingerprint("sha1")).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
