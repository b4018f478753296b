import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerConfigError } from "../../errors.js";
import { readCertificateGrant, readCertificatesConfig } from "./config.js";
import { CertificateIssuer, CertificateRefusal, refreshInSeconds, workloadUriPart } from "./issuer.js";

let dir: string;
let issuer: CertificateIssuer;
let csr: string;
let csrWithDns: string;
const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
const NOW = Math.floor(Date.now() / 1000) * 1000;
const claims = (edit: Record<string, unknown> = {}) => ({
  iat: NOW / 1000 - 600,
  exp: NOW / 1000 + 3000,
  submods: { gce: { project_id: "confspace-emulator", zone: "us-central1-a", instance_name: "workload-1" } },
  ...edit,
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "confspace-issuer-"));
  openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key");
  openssl(
    ...["req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=test CA", "-days", "1", "-out", "ca.crt"],
    ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"],
  );
  openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "w.key");
  openssl("req", "-new", "-key", "w.key", "-subj", "/CN=w", "-out", "w.csr");
  openssl(
    ...["req", "-new", "-key", "w.key", "-subj", "/CN=w", "-out", "dns.csr"],
    ...["-addext", "subjectAltName=DNS:bao.internal,DNS:other.internal"],
  );
  csr = readFileSync(join(dir, "w.csr"), "utf8");
  csrWithDns = readFileSync(join(dir, "dns.csr"), "utf8");
  issuer = await CertificateIssuer.load(
    { caCertFile: join(dir, "ca.crt"), caKeyFile: join(dir, "ca.key") },
    { maxTokenAgeSeconds: 3600, now: NOW },
  );
});
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const lifetimeOf = (pem: string) => (Date.parse(new X509Certificate(pem).validTo) - NOW) / 1000;

describe("CertificateIssuer", () => {
  it.each([
    ["the grant's default maximum (3600 s), capped by the token's age limit", {}, {}, 3000],
    ["the requested lifetime", { lifetimeSeconds: 120 }, {}, 120],
    [
      "the grant's maximum over a longer request",
      { lifetimeSeconds: 5000, grant: { maxLifetimeSeconds: 900 } },
      {},
      900,
    ],
    ["the token's age limit (iat + max age)", { lifetimeSeconds: 3600 }, { iat: NOW / 1000 - 3000 }, 600],
    ["the token's exp when sooner", {}, { exp: NOW / 1000 + 200 }, 200],
  ])("caps the lifetime at %s", (_name, request, edit, expected) => {
    const { reply, log } = issuer.issue({
      csr,
      grantName: "openbao",
      grant: {},
      claims: claims(edit),
      now: NOW,
      ...request,
    });
    expect(lifetimeOf(reply.certificate)).toBe(expected);
    expect(log.lifetimeSeconds).toBe(expected);
    expect(reply.expiration).toBe(new Date(NOW + expected * 1000).toISOString());
    expect(reply.refresh_in).toBe(Math.floor((expected * 2) / 3));
    expect(reply.grant).toBe("openbao");
    expect(reply.ca_certificate).toBe(readFileSync(join(dir, "ca.crt"), "utf8"));
    // notBefore a minute in the past, for clocks that run behind.
    expect(Date.parse(new X509Certificate(reply.certificate).validFrom)).toBe(NOW - 60_000);
  });

  it("issues a 1 s certificate when 1 s is asked for, whatever the milliseconds of now", () => {
    for (const now of [NOW, NOW + 1, NOW + 500, NOW + 999]) {
      const { reply, log } = issuer.issue({
        csr,
        lifetimeSeconds: 1,
        grantName: "g",
        grant: {},
        claims: claims(),
        now,
      });
      expect(Date.parse(new X509Certificate(reply.certificate).validTo)).toBe(NOW + 1000);
      expect([log.lifetimeSeconds, reply.refresh_in]).toEqual([1, 1]);
    }
  });

  it("never issues past the CA's own expiry", () => {
    const caEnd = Date.parse(new X509Certificate(readFileSync(join(dir, "ca.crt"))).validTo);
    const now = caEnd - 30_000;
    const { reply } = issuer.issue({
      csr,
      grantName: "g",
      grant: {},
      claims: { ...claims(), iat: now / 1000, exp: now / 1000 + 3600 },
      now,
    });
    expect(Date.parse(new X509Certificate(reply.certificate).validTo)).toBe(Math.floor(caEnd / 1000) * 1000);
  });

  it("fails (not a refusal of the workload) once the CA itself has expired", () => {
    const caEnd = Date.parse(new X509Certificate(readFileSync(join(dir, "ca.crt"))).validTo);
    const run = () =>
      issuer.issue({
        csr,
        grantName: "g",
        grant: {},
        claims: { ...claims(), iat: caEnd / 1000, exp: caEnd / 1000 + 60 },
        now: caEnd,
      });
    expect(run).toThrow(/workload CA certificate \(certificates.caCertFile\) has expired/);
    expect(run).not.toThrow(CertificateRefusal);
  });

  it("refuses a token at its age limit with check too_old", () => {
    const refusal = catchRefusal(() =>
      issuer.issue({ csr, grantName: "g", grant: {}, claims: claims({ iat: NOW / 1000 - 3600 }), now: NOW }),
    );
    expect([refusal.error, refusal.check]).toEqual(["invalid_token", "too_old"]);
  });

  it("puts DNS names the grant lists into the certificate and refuses those it does not", () => {
    const refusal = catchRefusal(() =>
      issuer.issue({
        csr: csrWithDns,
        grantName: "g",
        grant: { dnsNames: ["bao.internal"] },
        claims: claims(),
        now: NOW,
      }),
    );
    expect(refusal.error).toBe("invalid_request");
    expect(refusal.message).toBe("the CSR asks for 1 DNS name(s) the grant does not list in certificate.dnsNames");
    expect(refusal.message).not.toContain("other.internal");
    const { reply, log } = issuer.issue({
      csr: csrWithDns,
      grantName: "g",
      grant: { dnsNames: ["bao.internal", "other.internal"] },
      claims: claims(),
      now: NOW,
    });
    expect(new X509Certificate(reply.certificate).subjectAltName).toBe(
      "URI:urn:confspace:grant:g, URI:urn:confspace:workload:confspace-emulator/us-central1-a/workload-1, DNS:bao.internal, DNS:other.internal",
    );
    expect(log.dnsNames).toEqual(["bao.internal", "other.internal"]);
  });

  it("turns a bad CSR into invalid_request", () => {
    const refusal = catchRefusal(() =>
      issuer.issue({ csr: "not a csr", grantName: "g", grant: {}, claims: claims(), now: NOW }),
    );
    expect(refusal.error).toBe("invalid_request");
    expect(refusal.message).toMatch(/one PEM block/);
  });

  it("refuses to load unreadable CA files, naming the field", async () => {
    const missing = await CertificateIssuer.load(
      { caCertFile: join(dir, "ca.crt"), caKeyFile: join(dir, "missing.key") },
      { maxTokenAgeSeconds: 3600, now: NOW },
    ).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(BrokerConfigError);
    expect((missing as BrokerConfigError).field).toBe("certificates.caKeyFile");
    const mismatched = await CertificateIssuer.load(
      { caCertFile: join(dir, "ca.crt"), caKeyFile: join(dir, "w.key") },
      { maxTokenAgeSeconds: 3600, now: NOW },
    ).catch((error: unknown) => error);
    expect((mismatched as BrokerConfigError).field).toBe("certificates.caKeyFile");
  });
});

describe("workloadUriPart", () => {
  it("is project id / zone / instance name, percent-encoded", () => {
    expect(workloadUriPart(claims())).toBe("confspace-emulator/us-central1-a/workload-1");
    const odd = { submods: { gce: { project_id: "example.com:proj", zone: "z", instance_name: "a/b c" } } };
    expect(workloadUriPart(odd)).toBe("example.com%3Aproj/z/a%2Fb%20c");
  });

  it.each(["project_id", "zone", "instance_name"])("refuses a token without %s (access_denied)", (field) => {
    const gce: Record<string, unknown> = { ...claims().submods.gce };
    delete gce[field];
    expect(catchRefusal(() => workloadUriPart({ submods: { gce } })).error).toBe("access_denied");
  });
});

describe("refreshInSeconds", () => {
  it("is two thirds of the lifetime, at least 1", () => {
    expect([refreshInSeconds(3600), refreshInSeconds(1), refreshInSeconds(2)]).toEqual([2400, 1, 1]);
  });
});

describe("configuration", () => {
  it("reads the certificates section and a grant's certificate section strictly", () => {
    expect(readCertificatesConfig({ caCertFile: "/ca.crt", caKeyFile: "/ca.key" }, "certificates")).toEqual({
      caCertFile: "/ca.crt",
      caKeyFile: "/ca.key",
    });
    expect(
      readCertificateGrant({ keys: ["openbao-unseal"], maxLifetimeSeconds: 600 }, "grants[0].certificate"),
    ).toEqual({
      keys: ["openbao-unseal"],
      maxLifetimeSeconds: 600,
    });
    expect(readCertificateGrant({}, "grants[0].certificate")).toEqual({});
  });

  it.each([
    [
      () => readCertificatesConfig({ caCertFile: "/ca.crt" }, "certificates"),
      "certificates.caKeyFile: must be a non-empty string",
    ],
    [
      () => readCertificatesConfig({ caCertFile: "/a", caKeyFile: "/b", caKey: "x" }, "certificates"),
      "certificates.caKey: unknown field (the key is never inline: name its file with caKeyFile)",
    ],
    [
      () => readCertificateGrant({ maxLifetimeSeconds: 30 }, "grants[0].certificate"),
      "grants[0].certificate.maxLifetimeSeconds: must be between 60 and 86400",
    ],
    [
      () => readCertificateGrant({ maxLifetimeSeconds: 1.5 }, "grants[0].certificate"),
      "grants[0].certificate.maxLifetimeSeconds: must be an integer",
    ],
    [
      () => readCertificateGrant({ keys: ["a b"] }, "grants[0].certificate"),
      "grants[0].certificate.keys[0]: must be 1–64 letters, digits, '_', '.', '-'",
    ],
    [
      () => readCertificateGrant({ keys: [] }, "grants[0].certificate"),
      "grants[0].certificate.keys: must not be empty (omit the field instead)",
    ],
    [
      () => readCertificateGrant({ dnsNames: ["Bao.Internal"] }, "grants[0].certificate"),
      "grants[0].certificate.dnsNames[0]: must be a lower-case DNS name (a leading '*.' allowed)",
    ],
    [
      () => readCertificateGrant({ lifetime: 5 }, "grants[0].certificate"),
      "grants[0].certificate.lifetime: unknown field",
    ],
  ])("refuses a bad section (%#)", (read, message) => {
    expect(read).toThrow(BrokerConfigError);
    expect(read).toThrow(message);
  });
});

function catchRefusal(run: () => unknown): CertificateRefusal {
  try {
    run();
  } catch (error) {
    if (error instanceof CertificateRefusal) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}
