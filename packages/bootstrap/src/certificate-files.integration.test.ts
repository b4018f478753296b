import { X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AttestationTokenSource } from "@confspace/attestation";
import { BrokerError } from "@confspace/ekm-tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CertificateBroker, GRANT, startCertificateBroker } from "../test/certificate-broker.js";
import { until } from "../test/processes.js";
import {
  CERTIFICATE_FILES,
  type CertificateRenewalOptions,
  startCertificateRenewal,
  writeCertificateFiles,
} from "./certificate-files.js";
import { SecretTargetError } from "./errors.js";

const AUDIENCE = "https://broker.confspace.test";
const source: AttestationTokenSource = { getToken: async (o) => `token.${(o?.nonces ?? []).join(",")}` };
let broker: CertificateBroker;
let dir: string;
beforeAll(async () => {
  broker = await startCertificateBroker();
  dir = await mkdtemp(join(tmpdir(), "confspace-cert-files-"));
});
afterAll(async () => {
  await broker?.close();
  await rm(dir, { recursive: true, force: true });
});

const options = (outDir: string, extra: Partial<CertificateRenewalOptions> = {}): CertificateRenewalOptions => ({
  outDir,
  brokerUrl: broker.url,
  audience: AUDIENCE,
  tls: { ca: broker.pki.caPem },
  tokenSource: source,
  ...extra,
});
const mode = async (path: string) => (await stat(path)).mode & 0o777;
const read = (outDir: string, file: string) => readFile(join(outDir, file), "utf8");

describe("startCertificateRenewal", () => {
  it("writes tls.crt, tls.key (0600), workload-ca.crt and ca.crt into a new 0700 directory", async () => {
    const outDir = join(dir, "once", "confspace");
    const renewal = startCertificateRenewal(options(outDir, { serverCaPem: broker.pki.caPem }));
    try {
      const cert = await renewal.ready;
      expect(cert.grant).toBe(GRANT);
      expect(await mode(outDir)).toBe(0o700);
      expect(await mode(join(outDir, CERTIFICATE_FILES.privateKey))).toBe(0o600);
      expect(await mode(join(outDir, CERTIFICATE_FILES.certificate))).toBe(0o644);
      expect(await read(outDir, CERTIFICATE_FILES.privateKey)).toBe(cert.privateKeyPem);
      const leaf = new X509Certificate(await read(outDir, CERTIFICATE_FILES.certificate));
      expect(leaf.checkPrivateKey(cert.privateKey)).toBe(true);
      expect(leaf.verify(new X509Certificate(await read(outDir, CERTIFICATE_FILES.workloadCa)).publicKey)).toBe(true);
      expect(await read(outDir, CERTIFICATE_FILES.serverCa)).toBe(broker.pki.caPem);
      expect(renewal.current()?.certificatePem).toBe(cert.certificatePem);
    } finally {
      renewal.stop();
    }
  });

  it("renews at refresh_in with the same key, replacing only tls.crt, and stops when told", async () => {
    const outDir = join(dir, "renew");
    broker.refreshInSeconds = 1;
    const renewal = startCertificateRenewal(options(outDir));
    try {
      await renewal.ready;
      const key = await read(outDir, CERTIFICATE_FILES.privateKey);
      const first = await read(outDir, CERTIFICATE_FILES.certificate);
      const before = broker.requests.length;
      await until(() => broker.requests.length > before, 5_000);
      await until(() => renewal.current()?.certificatePem !== first, 5_000);
      expect(await read(outDir, CERTIFICATE_FILES.certificate)).not.toBe(first);
      expect(await read(outDir, CERTIFICATE_FILES.privateKey)).toBe(key);
      expect(existsSync(join(outDir, CERTIFICATE_FILES.serverCa))).toBe(false);
    } finally {
      renewal.stop();
      broker.refreshInSeconds = 600;
    }
    const after = broker.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(broker.requests.length).toBe(after);
  });

  it("keeps the files and retries with backoff when a renewal fails", async () => {
    const outDir = join(dir, "retry");
    broker.refreshInSeconds = 1;
    const renewal = startCertificateRenewal(options(outDir, { retry: { initialDelayMs: 50, maxDelayMs: 100 } }));
    try {
      await renewal.ready;
      const first = await read(outDir, CERTIFICATE_FILES.certificate);
      const start = broker.requests.length;
      broker.answers.push(
        { status: 503, body: { error: "upstream_unavailable", error_description: "down" } },
        { status: 503, body: { error: "upstream_unavailable", error_description: "down" } },
      );
      await until(() => broker.requests.length >= start + 3, 8_000);
      await until(() => renewal.current()?.certificatePem !== first, 5_000);
      expect(await read(outDir, CERTIFICATE_FILES.certificate)).toBe(renewal.current()?.certificatePem);
    } finally {
      renewal.stop();
      broker.refreshInSeconds = 600;
    }
  });

  it("rejects ready with the broker's refusal and writes nothing", async () => {
    const outDir = join(dir, "refused");
    broker.answers.push({
      status: 401,
      body: { error: "invalid_token", error_description: "image", check: "image_digest" },
    });
    const renewal = startCertificateRenewal(options(outDir));
    try {
      const error = await renewal.ready.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BrokerError);
      expect(error).toMatchObject({ code: "ERR_BROKER_DENIED", check: "image_digest" });
      expect(existsSync(join(outDir, CERTIFICATE_FILES.certificate))).toBe(false);
    } finally {
      renewal.stop();
    }
  });
});

describe("writeCertificateFiles", () => {
  const cert = { certificatePem: "C\n", privateKeyPem: "K\n", caPem: "A\n" };

  it("refuses an out dir that is a symlink or writable by others", async () => {
    const real = join(dir, "real");
    await mkdir(real, { mode: 0o700 });
    await symlink(real, join(dir, "link"));
    await expect(writeCertificateFiles(join(dir, "link"), cert)).rejects.toBeInstanceOf(SecretTargetError);
    const open = join(dir, "open");
    await mkdir(open);
    await chmod(open, 0o777);
    await expect(writeCertificateFiles(open, cert)).rejects.toBeInstanceOf(SecretTargetError);
    expect(existsSync(join(open, CERTIFICATE_FILES.privateKey))).toBe(false);
  });

  it("replaces existing files and leaves no temp files behind", async () => {
    const out = join(dir, "replace");
    await writeCertificateFiles(out, cert);
    await writeCertificateFiles(out, { ...cert, certificatePem: "C2\n" });
    expect(await read(out, CERTIFICATE_FILES.certificate)).toBe("C2\n");
    const { readdir } = await import("node:fs/promises");
    expect((await readdir(out)).sort()).toEqual(
      [CERTIFICATE_FILES.certificate, CERTIFICATE_FILES.privateKey, CERTIFICATE_FILES.workloadCa].sort(),
    );
  });
});
