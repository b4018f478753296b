// provider "certificate" end to end: emulator + broker, bound requests carrying an openssl
// CSR; the certificates are checked with openssl and node's X509Certificate.
import { execFileSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENV, type RunningBroker, startTestEnvironment, type TestEnvironment } from "../test/harness.js";
import { STORAGE_SCOPE } from "../test/workload.js";
import type { BrokerConfig } from "./index.js";

const OTHER_IMAGE = `sha256:${"b".repeat(64)}`;

describe("broker: workload certificates", () => {
  let env: TestEnvironment;
  let running: RunningBroker;
  let dir: string;
  let csr: string;
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });

  const withCertificates = (config: BrokerConfig) => {
    config.certificates = { caCertFile: join(dir, "ca.crt"), caKeyFile: join(dir, "ca.key") };
    // The policy admits a second image; only the grant decides who gets a certificate.
    config.attestation.policy.imageDigests = [env.imageDigest, OTHER_IMAGE];
    config.grants.push({
      name: "openbao",
      match: { imageDigests: [env.imageDigest] },
      certificate: { keys: ["openbao-unseal"], maxLifetimeSeconds: 1800, dnsNames: ["bao.internal"] },
    });
    // The other image matches a grant, one without a certificate section.
    config.grants.push({
      name: "other-image-storage",
      match: { imageDigests: [OTHER_IMAGE] },
      azure: [{ tenant: "main", scopes: [STORAGE_SCOPE] }],
    });
  };
  const ask = (body: Record<string, unknown>, token: Parameters<RunningBroker["request"]>[0] = {}) =>
    running.request({ body: { provider: "certificate", ...body }, ...token });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "confspace-broker-cert-"));
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key");
    openssl(
      ...["req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=confspace workload CA", "-days", "2"],
      ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", "-out", "ca.crt"],
    );
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "w.key");
    openssl("req", "-new", "-key", "w.key", "-subj", "/CN=workload", "-out", "w.csr");
    csr = readFileSync(join(dir, "w.csr"), "utf8");
    env = await startTestEnvironment();
    running = await env.startBroker(env.config(withCertificates));
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("signs the CSR: the certificate verifies against the CA and names the grant and the workload", async () => {
    const res = await ask({ csr });
    expect(res.status).toBe(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(Object.keys(res.json).sort()).toEqual([
      "ca_certificate",
      "certificate",
      "expiration",
      "grant",
      "refresh_in",
    ]);
    expect(res.json.grant).toBe("openbao");
    expect(res.json.ca_certificate).toBe(readFileSync(join(dir, "ca.crt"), "utf8"));
    writeFileSync(join(dir, "leaf.crt"), res.json.certificate as string);
    expect(openssl("verify", "-CAfile", "ca.crt", "-purpose", "sslclient", "leaf.crt").toString()).toBe(
      "leaf.crt: OK\n",
    );
    const leaf = new X509Certificate(res.json.certificate as string);
    expect(leaf.checkIssued(new X509Certificate(res.json.ca_certificate as string))).toBe(true);
    expect(leaf.subject).toBe("CN=openbao");
    expect(leaf.subjectAltName).toBe(
      "URI:urn:confspace:grant:openbao, URI:urn:confspace:workload:confspace-emulator/us-central1-a/confspace-workload",
    );
    expect(leaf.checkPrivateKey(createPrivateKey(readFileSync(join(dir, "w.key"), "utf8")))).toBe(true);
    // The grant's 1800 s cap (the fresh token's age limit is an hour away).
    const lifetime = (Date.parse(leaf.validTo) - Date.now()) / 1000;
    expect(lifetime).toBeGreaterThan(1790);
    expect(lifetime).toBeLessThanOrEqual(1800);
    expect(Date.parse(res.json.expiration as string)).toBe(Date.parse(leaf.validTo));
    // Two thirds of the whole seconds left (1799 or 1800).
    expect([1199, 1200]).toContain(res.json.refresh_in);

    const metrics = running.broker.metrics.render();
    expect(metrics).toMatch(/confspace_broker_requests_total\{outcome="ok",provider="certificate"\} \d+\n/);
    const line = running.logs.records().findLast((r) => r.msg === "token request");
    expect(line).toMatchObject({
      provider: "certificate",
      grant: "openbao",
      outcome: "ok",
      status: 200,
      keyType: "EC P-256",
      serial: expect.stringMatching(/^[0-9a-f]{30,34}$/),
      lifetimeSeconds: expect.any(Number),
      workload: { imageDigest: env.imageDigest, projectId: "confspace-emulator" },
    });
    expect(JSON.stringify(running.logs.lines)).not.toContain(csr.split("\n")[1] as string);
  });

  it("caps the lifetime at the request and at the attestation token's age limit", async () => {
    const short = await ask({ csr, lifetime_seconds: 300 });
    expect(short.status).toBe(200);
    const shortLife = (Date.parse(short.json.expiration as string) - Date.now()) / 1000;
    expect(shortLife).toBeGreaterThan(290);
    expect(shortLife).toBeLessThanOrEqual(300);
    // A token issued 50 minutes ago: its hour (attestation.maxTokenAgeSeconds) ends in 10.
    const old = await ask(
      { csr },
      {
        token: {
          mutateClaims: (claims) => {
            claims.iat = Math.floor(Date.now() / 1000) - 3000;
            claims.nbf = claims.iat;
          },
        },
      },
    );
    expect(old.status).toBe(200);
    const oldLife = (Date.parse(old.json.expiration as string) - Date.now()) / 1000;
    expect(oldLife).toBeGreaterThan(590);
    expect(oldLife).toBeLessThanOrEqual(600);
  });

  it("refuses an image no certificate grant lists, and one the policy does not admit with the failed check", async () => {
    const mutateImage = (digest: string) => ({
      token: {
        mutateClaims: (claims: Record<string, unknown>) => {
          (claims.submods as { container: { image_digest: string } }).container.image_digest = digest;
        },
      },
    });
    const notGranted = await ask({ csr }, mutateImage(OTHER_IMAGE));
    expect(notGranted.status).toBe(403);
    expect(notGranted.json).toEqual({
      error: "access_denied",
      error_description: "no grant matching this workload gives a certificate",
    });
    const refused = await ask({ csr }, mutateImage(`sha256:${"c".repeat(64)}`));
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ error: "invalid_token", check: "image_digest" });
    expect(refused.json).not.toHaveProperty("certificate");
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ["no csr", { csr: undefined }, /"csr" is required/],
    ["a csr that is not a string", { csr: 7 }, /"csr" must be a non-empty string/],
    ["an oversized csr", { csr: `x`.repeat(20_000) }, /"csr" is longer than 16384 characters/],
    ["not a CSR", { csr: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" }, /one PEM block/],
    ["lifetime 0", { lifetime_seconds: 0 }, /"lifetime_seconds" must be a positive integer/],
    ["a negative lifetime", { lifetime_seconds: -5 }, /"lifetime_seconds" must be a positive integer/],
    ["a fractional lifetime", { lifetime_seconds: 1.5 }, /"lifetime_seconds" must be a positive integer/],
    ["a lifetime string", { lifetime_seconds: "60" }, /"lifetime_seconds" must be a positive integer/],
    ["an unknown field", { scope: "x" }, /unknown field "scope" for provider certificate/],
  ])("answers 400 invalid_request to %s", async (_name, body, message) => {
    const res = await ask({ csr, ...body });
    expect(res.status).toBe(400);
    expect(Object.keys(res.json).sort()).toEqual(["error", "error_description"]);
    expect(res.json.error).toBe("invalid_request");
    expect(res.json.error_description).toMatch(message);
  });

  it("answers 400 to a CSR with a refused key or a DNS name the grant does not list, naming neither", async () => {
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", "weak.key");
    openssl("req", "-new", "-key", "weak.key", "-subj", "/CN=w", "-out", "weak.csr");
    const weak = await ask({ csr: readFileSync(join(dir, "weak.csr"), "utf8") });
    expect([weak.status, weak.json.error]).toEqual([400, "invalid_request"]);
    expect(weak.json.error_description).toMatch(/1024-bit RSA key is not accepted/);
    openssl(
      ...["req", "-new", "-key", "w.key", "-subj", "/CN=w", "-out", "dns.csr"],
      ...["-addext", "subjectAltName=DNS:bao.internal,DNS:evil.example"],
    );
    const dns = await ask({ csr: readFileSync(join(dir, "dns.csr"), "utf8") });
    expect([dns.status, dns.json.error]).toEqual([400, "invalid_request"]);
    expect(dns.text).not.toContain("evil.example");
    openssl(
      ...[
        "req",
        "-new",
        "-key",
        "w.key",
        "-subj",
        "/CN=w",
        "-out",
        "ok.csr",
        "-addext",
        "subjectAltName=DNS:bao.internal",
      ],
    );
    const ok = await ask({ csr: readFileSync(join(dir, "ok.csr"), "utf8") });
    expect(ok.status).toBe(200);
    expect(new X509Certificate(ok.json.certificate as string).subjectAltName).toContain("DNS:bao.internal");
  });

  it("refuses a grant with a certificate section when no certificates section names the CA", async () => {
    const config = env.config(withCertificates);
    delete config.certificates;
    const { validateBrokerConfig } = await import("./index.js");
    expect(() => validateBrokerConfig(config)).toThrow(
      expect.objectContaining({ code: "ERR_BROKER_CONFIG", field: `grants[${config.grants.length - 2}].certificate` }),
    );
  });

  it("warns at start about a CA certificate that expires within 7 days, not about one that lasts", async () => {
    const warning = (logs: RunningBroker["logs"]) =>
      logs.records().filter((r) => String(r.msg).startsWith("the workload CA certificate expires soon"));
    // ca.crt lasts 2 days.
    expect(warning(running.logs)).toEqual([
      expect.objectContaining({ level: "warn", field: "certificates.caCertFile", notAfter: expect.any(String) }),
    ]);
    openssl(
      ...["req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=long CA", "-days", "30", "-out", "long.crt"],
      ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"],
    );
    const long = await env.startBroker(
      env.config((config) => {
        withCertificates(config);
        config.certificates = { caCertFile: join(dir, "long.crt"), caKeyFile: join(dir, "ca.key") };
      }),
    );
    expect(warning(long.logs)).toEqual([]);
    expect((await long.request({ body: { provider: "certificate", csr } })).status).toBe(200);
  });

  it("refuses to start with a CA key that is not the CA certificate's, naming the field", async () => {
    const config = env.config(withCertificates);
    config.certificates = { caCertFile: join(dir, "ca.crt"), caKeyFile: join(dir, "w.key") };
    const { createBroker } = await import("./index.js");
    const broker = createBroker(config, { env: ENV });
    await expect(broker.listen()).rejects.toMatchObject({ code: "ERR_BROKER_CONFIG", field: "certificates.caKeyFile" });
    await broker.close();
  });
});
