import { execFile } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmulatorOptionError } from "./errors.js";
import { generatePkiChain, type PkiChain } from "./pki-chain.js";

const run = promisify(execFile);
const OPENSSL = "/usr/bin/openssl";
const DAY = 86_400_000;

let dir: string;
let chain: PkiChain;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "confspace-pki-"));
  chain = await generatePkiChain();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `openssl verify -CAfile root -untrusted intermediate leaf`: resolves to stdout+stderr and the exit status. */
async function opensslVerify(
  root: string,
  intermediate: string,
  leaf: string,
): Promise<{ ok: boolean; output: string }> {
  const name = Math.random().toString(36).slice(2);
  const paths = ["root", "intermediate", "leaf"].map((part) => join(dir, `${name}-${part}.pem`));
  await Promise.all([root, intermediate, leaf].map((pem, i) => writeFile(paths[i]!, pem)));
  try {
    const { stdout, stderr } = await run(OPENSSL, ["verify", "-CAfile", paths[0]!, "-untrusted", paths[1]!, paths[2]!]);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    return { ok: false, output: stdout + stderr };
  }
}

async function opensslText(pem: string): Promise<string> {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.pem`);
  await writeFile(path, pem);
  return (await run(OPENSSL, ["x509", "-noout", "-text", "-in", path])).stdout;
}

describe("generatePkiChain", () => {
  it("builds a chain Node's X509Certificate accepts link by link", () => {
    const root = new X509Certificate(chain.root.certificateDer);
    const intermediate = new X509Certificate(chain.intermediate.certificateDer);
    const leaf = new X509Certificate(chain.leaf.certificateDer);
    expect(root.checkIssued(root)).toBe(true);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(intermediate.checkIssued(root)).toBe(true);
    expect(intermediate.verify(root.publicKey)).toBe(true);
    expect(leaf.checkIssued(intermediate)).toBe(true);
    expect(leaf.verify(intermediate.publicKey)).toBe(true);
    expect(leaf.verify(root.publicKey)).toBe(false);
    expect(leaf.checkIssued(root)).toBe(false);
  });

  it("marks the root and intermediate as CAs and the leaf as an end entity", () => {
    expect(new X509Certificate(chain.root.certificatePem).ca).toBe(true);
    expect(new X509Certificate(chain.intermediate.certificatePem).ca).toBe(true);
    expect(new X509Certificate(chain.leaf.certificatePem).ca).toBe(false);
  });

  it("passes openssl verify -CAfile root -untrusted intermediate leaf", async () => {
    const result = await opensslVerify(
      chain.root.certificatePem,
      chain.intermediate.certificatePem,
      chain.leaf.certificatePem,
    );
    expect(result.output).toMatch(/: OK/);
    expect(result.ok).toBe(true);
  });

  it("encodes v3 extensions openssl can read: basicConstraints, keyUsage, key identifiers", async () => {
    const root = await opensslText(chain.root.certificatePem);
    expect(root).toMatch(/Version: 3/);
    expect(root).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
    expect(root).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(root).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    const intermediate = await opensslText(chain.intermediate.certificatePem);
    expect(intermediate).toMatch(/CA:TRUE, pathlen:0/);
    const leaf = await opensslText(chain.leaf.certificatePem);
    expect(leaf).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(leaf).toMatch(/Key Usage: critical\s+Digital Signature/);
    const intermediateSki = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(intermediate)?.[1];
    expect(intermediateSki).toBeDefined();
    expect(leaf).toContain(intermediateSki);
    expect(leaf).toMatch(/Subject: O = confspace emulator \(not Google\), CN = confspace emulator token signer/);
  });

  it("exposes the root fingerprint as SHA-256 lowercase hex without colons", () => {
    const expected = new X509Certificate(chain.root.certificateDer).fingerprint256.replaceAll(":", "").toLowerCase();
    expect(chain.rootFingerprint).toBe(expected);
    expect(chain.rootFingerprint).toBe(createHash("sha256").update(chain.root.certificateDer).digest("hex"));
    expect(chain.rootFingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it("lists x5c as leaf, intermediate, root in standard base64 DER", () => {
    expect(chain.x5c).toEqual([
      chain.leaf.certificateDer.toString("base64"),
      chain.intermediate.certificateDer.toString("base64"),
      chain.root.certificateDer.toString("base64"),
    ]);
    expect(chain.x5c.join("")).not.toMatch(/[-_]/);
  });

  it("pairs each certificate with its own private key", () => {
    for (const part of [chain.root, chain.intermediate, chain.leaf]) {
      const certificate = new X509Certificate(part.certificateDer);
      expect(certificate.checkPrivateKey(part.privateKey)).toBe(true);
      expect(certificate.publicKey.equals(part.publicKey)).toBe(true);
      expect(part.privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    }
    expect(new X509Certificate(chain.leaf.certificateDer).checkPrivateKey(chain.root.privateKey)).toBe(false);
  });

  it("defaults to validity from an hour ago to 10 / 5 / 1 years ahead", () => {
    const now = Date.now();
    const validTo = (der: Buffer) => new Date(new X509Certificate(der).validTo).getTime();
    const validFrom = new Date(new X509Certificate(chain.leaf.certificateDer).validFrom).getTime();
    expect(validFrom).toBeLessThan(now - 50 * 60_000);
    expect(validTo(chain.root.certificateDer)).toBeGreaterThan(now + 9 * 365 * DAY);
    expect(validTo(chain.intermediate.certificateDer)).toBeGreaterThan(now + 4 * 365 * DAY);
    expect(validTo(chain.intermediate.certificateDer)).toBeLessThan(now + 6 * 365 * DAY);
    expect(validTo(chain.leaf.certificateDer)).toBeLessThan(now + 2 * 365 * DAY);
  });

  it("honours per-certificate validity overrides, encoding years from 2050 as GeneralizedTime", async () => {
    const notAfter = new Date("2060-06-01T00:00:00Z");
    const notBefore = new Date("2024-01-02T03:04:05Z");
    const custom = await generatePkiChain({ root: { notBefore, notAfter } });
    const root = new X509Certificate(custom.root.certificateDer);
    expect(new Date(root.validTo).toISOString()).toBe(notAfter.toISOString());
    expect(new Date(root.validFrom).toISOString()).toBe(notBefore.toISOString());
    const result = await opensslVerify(
      custom.root.certificatePem,
      custom.intermediate.certificatePem,
      custom.leaf.certificatePem,
    );
    expect(result.ok).toBe(true);
  });

  it("builds an expired intermediate that openssl rejects", async () => {
    const expired = await generatePkiChain({ intermediate: { notAfter: new Date(Date.now() - DAY) } });
    const intermediate = new X509Certificate(expired.intermediate.certificateDer);
    expect(new Date(intermediate.validTo).getTime()).toBeLessThan(Date.now());
    expect(new Date(intermediate.validFrom).getTime()).toBeLessThan(new Date(intermediate.validTo).getTime());
    const result = await opensslVerify(
      expired.root.certificatePem,
      expired.intermediate.certificatePem,
      expired.leaf.certificatePem,
    );
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/certificate has expired/);
  });

  it("builds a not-yet-valid leaf that openssl rejects", async () => {
    const future = await generatePkiChain({ leaf: { notBefore: new Date(Date.now() + DAY) } });
    const result = await opensslVerify(
      future.root.certificatePem,
      future.intermediate.certificatePem,
      future.leaf.certificatePem,
    );
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/not yet valid/);
  });

  it("makes an unrelated root on every call, so a second chain is a foreign root", async () => {
    const foreign = await generatePkiChain();
    expect(foreign.rootFingerprint).not.toBe(chain.rootFingerprint);
    const result = await opensslVerify(
      foreign.root.certificatePem,
      chain.intermediate.certificatePem,
      chain.leaf.certificatePem,
    );
    expect(result.ok).toBe(false);
    expect(new X509Certificate(chain.intermediate.certificateDer).verify(foreign.root.publicKey)).toBe(false);
  });

  it("uses custom names and random positive serial numbers", async () => {
    const named = await generatePkiChain({ leaf: { commonName: "signer", organization: "Example" } });
    const leaf = new X509Certificate(named.leaf.certificateDer);
    expect(leaf.subject).toBe("O=Example\nCN=signer");
    expect(leaf.issuer).toBe("O=confspace emulator (not Google)\nCN=confspace emulator intermediate CA");
    const serials = [named.root, named.intermediate, named.leaf].map(
      (part) => new X509Certificate(part.certificateDer).serialNumber,
    );
    expect(new Set(serials).size).toBe(3);
    for (const serial of serials) expect(Number.parseInt(serial.slice(0, 2), 16)).toBeLessThan(0x80);
  });

  it("rejects a certificate whose notAfter precedes its notBefore", async () => {
    const attempt = generatePkiChain({
      leaf: { notBefore: new Date("2030-01-01T00:00:00Z"), notAfter: new Date("2029-01-01T00:00:00Z") },
    });
    await expect(attempt).rejects.toBeInstanceOf(EmulatorOptionError);
    await expect(attempt).rejects.toMatchObject({ code: "ERR_INVALID_OPTION", option: "validity" });
  });
});
