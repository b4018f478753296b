import { execFileSync } from "node:child_process";
import { generateKeyPairSync, type KeyObject, X509Certificate } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AttestationTokenSource } from "@confspace/attestation";
import { InvalidOptionError } from "@confspace/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestPki, OPENSSL, startHttpsServer, type TestPki, type TestServer } from "../test/tls-fixtures.js";
import { createWorkloadCa, GRANT, type SignOptions, type WorkloadCa } from "../test/workload-ca.js";
import { brokerEkmOptions, brokerNonce } from "./broker-binding.js";
import { BrokerError } from "./broker-error.js";
import { requestKeyingMaterial } from "./server-ekm.js";
import { requestWorkloadCertificate, type WorkloadCertificateRequest } from "./workload-certificate.js";
import { WorkloadCertificateError } from "./workload-certificate-error.js";

const AUDIENCE = "https://broker.confspace.test";
const TOKEN_MARK = "attestation-token-do-not-leak";

let pki: TestPki;
let ca: WorkloadCa;
beforeAll(() => {
  pki = createTestPki();
  ca = createWorkloadCa();
});
afterAll(() => {
  pki.dispose();
  ca.dispose();
});

const source: AttestationTokenSource = {
  getToken: async (options) => `${TOKEN_MARK}.${(options?.nonces ?? []).join(",")}`,
};

interface Received {
  body: Record<string, unknown>;
  nonce: string;
}
/** What the stand-in broker answers for a CSR: a reply object, or a status and body. */
type Answer = (csr: string) => { status?: number; body: unknown };

function goodReply(csr: string, sign: SignOptions = {}, extra: Record<string, unknown> = {}) {
  return {
    body: {
      certificate: ca.sign(csr, sign),
      ca_certificate: ca.caPem,
      expiration: new Date(Date.now() + 86_400_000).toISOString(),
      refresh_in: 600,
      grant: GRANT,
      ...extra,
    },
  };
}

describe("requestWorkloadCertificate against a stand-in broker with an openssl CA", () => {
  let server: TestServer;
  let received: Received[];
  let answer: Answer;

  beforeEach(async () => {
    received = [];
    answer = (csr) => goodReply(csr);
    server = await startHttpsServer(
      { key: pki.server.key, cert: pki.server.cert, minVersion: "TLSv1.3" },
      (req: IncomingMessage, res: ServerResponse) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
          received.push({ body, nonce: brokerNonce(requestKeyingMaterial(req, brokerEkmOptions(AUDIENCE))) });
          const { status = 200, body: out } = answer(String(body.csr));
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify(out));
        });
      },
    );
  });
  afterEach(() => server.close());

  const call = (extra: Partial<WorkloadCertificateRequest> = {}) =>
    requestWorkloadCertificate({
      brokerUrl: server.url,
      audience: AUDIENCE,
      tls: { ca: pki.server.cert },
      tokenSource: source,
      ...extra,
    });

  it("sends a bound certificate request with a CSR openssl verifies, and returns the checked certificate", async () => {
    const before = Date.now();
    const cert = await call({ lifetimeSeconds: 900 });
    const [entry] = received;
    expect(Object.keys(entry?.body ?? {}).sort()).toEqual(["attestation_token", "csr", "lifetime_seconds", "provider"]);
    expect(entry?.body).toMatchObject({ provider: "certificate", lifetime_seconds: 900 });
    expect(entry?.body.attestation_token).toBe(`${TOKEN_MARK}.${entry?.nonce}`);
    const text = execFileSync(OPENSSL, ["req", "-verify", "-noout", "-text"], {
      input: String(entry?.body.csr),
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
    });
    expect(text).toContain("NIST CURVE: P-256");
    expect(text).toContain("CN = confspace-workload");
    expect(text).not.toContain("Subject Alternative Name");

    const leaf = new X509Certificate(cert.certificatePem);
    expect(leaf.checkPrivateKey(cert.privateKey)).toBe(true);
    expect(leaf.verify(new X509Certificate(cert.caPem).publicKey)).toBe(true);
    expect(cert.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(cert.grant).toBe(GRANT);
    expect(cert.expiresAt).toBe(leaf.validToDate.getTime());
    expect(cert.refreshAt).toBeGreaterThanOrEqual(before + 600_000);
    expect(cert.refreshAt).toBeLessThanOrEqual(Date.now() + 600_000);
    // openssl agrees that the CA issued it for client authentication.
    const verified = execFileSync(OPENSSL, ["verify", "-CAfile", ca.caCertPath, "-purpose", "sslclient"], {
      input: cert.certificatePem,
      encoding: "utf8",
    });
    expect(verified.trim()).toBe("stdin: OK");
  });

  it.each([
    ["P-384", "NIST CURVE: P-384"],
    ["RSA-2048", "Public-Key: (2048 bit)"],
  ] as const)("generates a %s key when asked", async (keyType, expected) => {
    const cert = await call({ keyType, dnsNames: ["app.example.com"] });
    const text = execFileSync(OPENSSL, ["req", "-verify", "-noout", "-text"], {
      input: String(received[0]?.body.csr),
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
    });
    expect(text).toContain(expected);
    expect(text).toContain("DNS:app.example.com");
    expect(new X509Certificate(cert.certificatePem).checkPrivateKey(cert.privateKey)).toBe(true);
  });

  it("certifies a given private key again (renewal with the same tls.key)", async () => {
    const first = await call();
    const second = await call({ privateKey: first.privateKey });
    expect(second.privateKeyPem).toBe(first.privateKeyPem);
    expect(second.certificatePem).not.toBe(first.certificatePem);
    expect(received).toHaveLength(2);
  });

  it("refreshes at two thirds of the remaining life when refresh_in lies past the expiry", async () => {
    answer = (csr) => goodReply(csr, {}, { refresh_in: 10 * 86_400 });
    const now = Date.now();
    const cert = await call({ clock: { now: () => now } });
    expect(cert.refreshAt).toBe(now + Math.floor(((cert.expiresAt - now) * 2) / 3));
  });

  const otherKeyCsr = () => {
    const args = ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    return execFileSync(OPENSSL, [...args, "-keyout", "/dev/null", "-subj", "/CN=x"], { encoding: "utf8" });
  };
  const day = 86_400_000;
  it.each<[string, Answer, string, Partial<WorkloadCertificateRequest>?]>([
    ["no certificate", (csr) => ({ body: { ...goodReply(csr).body, certificate: undefined } }), "reply"],
    [
      "two certificates",
      (csr) => ({ body: { ...goodReply(csr).body, certificate: ca.sign(csr) + ca.sign(csr) } }),
      "reply",
    ],
    [
      "garbage in the PEM",
      (csr) => ({
        body: { ...goodReply(csr).body, certificate: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" },
      }),
      "reply",
    ],
    ["no grant", (csr) => ({ body: { ...goodReply(csr).body, grant: 7 } }), "reply"],
    ["no refresh_in", (csr) => ({ body: { ...goodReply(csr).body, refresh_in: "600" } }), "reply"],
    ["another key's certificate", () => goodReply(otherKeyCsr()), "key_mismatch"],
    [
      "a leaf from another CA",
      (csr) => ({ body: { ...goodReply(csr).body, certificate: ca.otherSign(csr) } }),
      "issuer",
    ],
    [
      "a ca_certificate that is not a CA",
      (csr) => ({ body: { ...goodReply(csr).body, ca_certificate: ca.sign(csr) } }),
      "issuer",
    ],
    [
      "a CA leaf",
      (csr) => goodReply(csr, { basicConstraints: "critical,CA:true", keyUsage: "digitalSignature,keyCertSign" }),
      "usage",
    ],
    ["a server-only certificate", (csr) => goodReply(csr, { eku: "serverAuth" }), "usage"],
    ["a certificate without extended key usage", (csr) => goodReply(csr, { eku: "" }), "usage"],
    ["another grant's SAN", (csr) => goodReply(csr, { san: "URI:urn:confspace:grant:other" }), "grant"],
    [
      "two grant SANs",
      (csr) => goodReply(csr, { san: `URI:urn:confspace:grant:${GRANT},URI:urn:confspace:grant:x` }),
      "grant",
    ],
    ["no grant SAN", (csr) => goodReply(csr, { san: "DNS:app.example.com" }), "grant"],
    ["an expired certificate", (csr) => goodReply(csr), "expired", { clock: { now: () => Date.now() + 2 * day } }],
    [
      "a certificate not valid yet",
      (csr) => goodReply(csr),
      "not_yet_valid",
      { clock: { now: () => Date.now() - day } },
    ],
  ])("refuses a reply with %s", async (_name, bad, check, extra = {}) => {
    answer = bad;
    const error = await call(extra).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkloadCertificateError);
    expect(error).toMatchObject({ code: "ERR_WORKLOAD_CERTIFICATE", check, brokerUrl: server.url });
    expect((error as Error).message).not.toMatch(/PRIVATE KEY|BEGIN|attestation-token/);
  });

  it("passes the broker's refusal on as a BrokerError with the failed check", async () => {
    answer = () => ({ status: 401, body: { error: "invalid_token", error_description: "no", check: "image_digest" } });
    await expect(call()).rejects.toMatchObject({
      constructor: BrokerError,
      code: "ERR_BROKER_DENIED",
      check: "image_digest",
    });
  });

  it.each<[string, Partial<WorkloadCertificateRequest>, string]>([
    ["an unknown option", { keySize: 2048 } as never, "keySize"],
    ["an unknown key type", { keyType: "Ed448" as never }, "keyType"],
    ["keyType with privateKey", { keyType: "P-256", privateKey: {} as KeyObject }, "keyType"],
    ["a public key", { privateKey: generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey }, "privateKey"],
    ["an RSA 1024 key", { privateKey: generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey }, "privateKey"],
    ["a zero lifetime", { lifetimeSeconds: 0 }, "lifetimeSeconds"],
    ["a fractional lifetime", { lifetimeSeconds: 1.5 }, "lifetimeSeconds"],
    ["a bad DNS name", { dnsNames: ["ok.example", "bad name"] }, "dnsNames[1]"],
    ["a long common name", { commonName: "x".repeat(65) }, "commonName"],
  ])("refuses %s with InvalidOptionError before connecting", async (_name, extra, option) => {
    await expect(call(extra)).rejects.toMatchObject({ constructor: InvalidOptionError, option });
    expect(received).toHaveLength(0);
  });
});
