import { writeFile } from "node:fs/promises";
import { connect, type Server } from "node:net";
import { join } from "node:path";
import { createServer, getCACertificates } from "node:tls";
import {
  createTestPki,
  type LocalAwsSts,
  type LocalEntra,
  startLocalAwsSts,
  startLocalEntra,
  type TestPki,
} from "@confspace/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AwsUpstreamConfig, AzureTenantConfig } from "./config-types.js";
import { BrokerConfigError } from "./errors.js";
import { AwsUpstream } from "./internal/aws-upstream.js";
import { AzureUpstream } from "./internal/azure-upstream.js";
import { UpstreamUnavailableError } from "./internal/upstream-error.js";
import { validateBrokerConfig } from "./validate-config.js";

const TENANT_ID = "11111111-2222-3333-4444-555555555555";
const CLIENT_ID = "66666666-7777-8888-9999-000000000000";
const BROKER_USER_ARN = "arn:aws:iam::123456789012:user/broker";
const ROLE_ARN = "arn:aws:iam::123456789012:role/reader";
const ENV = { SECRET: "entra-secret", AWS_KEY: "AKIAEXAMPLEBROKER01", AWS_SECRET: "broker-secret-access-key" };

// Entra and STS behind a CA that this process does not trust (no NODE_EXTRA_CA_CERTS, no
// change to the default store): only the upstream's caFile lets the broker reach them.
describe("upstreams: caFile trusts a private CA for one upstream", () => {
  let pki: TestPki;
  let entra: LocalEntra;
  let sts: LocalAwsSts;
  let stsTls: Server;
  let stsUrl: string;
  let notCaFile: string;

  beforeAll(async () => {
    pki = await createTestPki();
    entra = await startLocalEntra({
      tenantId: TENANT_ID,
      clients: [{ clientId: CLIENT_ID, clientSecret: ENV.SECRET }],
      tls: { cert: pki.serverCertPem, key: pki.serverKeyPem },
    });
    sts = await startLocalAwsSts({
      users: [{ arn: BROKER_USER_ARN, accessKeyId: ENV.AWS_KEY, secretAccessKey: ENV.AWS_SECRET }],
      roles: [
        {
          arn: ROLE_ARN,
          trustPolicy: {
            Version: "2012-10-17",
            Statement: { Effect: "Allow", Principal: { AWS: BROKER_USER_ARN }, Action: "sts:AssumeRole" },
          },
        },
      ],
    });
    // The local STS speaks plain HTTP: terminate TLS with the private CA's certificate in front of it.
    const target = new URL(sts.endpoint);
    stsTls = createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (socket) => {
      const upstream = connect(Number(target.port), target.hostname);
      socket.pipe(upstream).pipe(socket);
      socket.on("error", () => upstream.destroy());
      upstream.on("error", () => socket.destroy());
    });
    await new Promise<void>((resolve) => stsTls.listen(0, "127.0.0.1", resolve));
    stsUrl = `https://127.0.0.1:${(stsTls.address() as { port: number }).port}`;
    notCaFile = join(pki.dir, "not-a-ca.pem");
    await writeFile(notCaFile, "no certificate here\n");
  });
  afterAll(async () => {
    await new Promise((resolve) => stsTls?.close(resolve));
    await sts?.close();
    await entra?.close();
    await pki?.cleanup();
  });

  const tenant = (caFile?: string): AzureTenantConfig => ({
    tenantId: TENANT_ID,
    clientId: CLIENT_ID,
    clientSecretEnv: "SECRET",
    authorityHost: entra.authorityHost,
    ...(caFile === undefined ? {} : { caFile }),
  });
  const aws = (caFile?: string): AwsUpstreamConfig => ({
    region: sts.region,
    endpoint: stsUrl,
    credentials: { accessKeyIdEnv: "AWS_KEY", secretAccessKeyEnv: "AWS_SECRET" },
    ...(caFile === undefined ? {} : { caFile }),
  });
  const assume = { roleArn: ROLE_ARN, sessionName: "123456789012-1", durationSeconds: 900, tags: [] };

  it("runs with the private CA in neither the default store nor NODE_EXTRA_CA_CERTS", () => {
    const pem = (text: string) => text.replace(/\s+/g, "");
    expect(getCACertificates("default").map(pem)).not.toContain(pem(pki.caPem));
    expect(getCACertificates("extra").map(pem)).not.toContain(pem(pki.caPem));
  });

  it("gets an Entra token through the tenant's caFile, and none without it", async () => {
    const trusted = new AzureUpstream({ tenants: { main: tenant(pki.caPath) }, env: ENV });
    const untrusted = new AzureUpstream({ tenants: { main: tenant() }, env: ENV, timeoutMs: 5_000 });
    try {
      const token = await trusted.getToken("main", "https://storage.azure.com/.default");
      expect(token.token.split(".")).toHaveLength(3);
      const before = entra.tokenRequests;
      await expect(untrusted.getToken("main", "https://storage.azure.com/.default")).rejects.toBeInstanceOf(
        UpstreamUnavailableError,
      );
      expect(entra.tokenRequests).toBe(before);
    } finally {
      trusted.dispose();
      untrusted.dispose();
    }
  });

  it("assumes a role at an STS endpoint through upstreams.aws.caFile, and not without it", async () => {
    const trusted = new AwsUpstream({ config: aws(pki.caPath), env: ENV });
    const untrusted = new AwsUpstream({ config: aws(), env: ENV, timeoutMs: 5_000 });
    try {
      const session = await trusted.assumeRole(assume);
      expect(session.accessKeyId).toMatch(/^ASIA/);
      const before = sts.requests.length;
      const error = await untrusted.assumeRole(assume).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect(String((error as Error).cause)).toMatch(/certificate/i);
      expect(sts.requests.length).toBe(before);
    } finally {
      trusted.dispose();
      untrusted.dispose();
    }
  });

  it.each([
    ["an unreadable file", () => join(pki.dir, "missing.pem"), /cannot be read/],
    ["a file without a certificate", () => notCaFile, /no PEM certificate/],
  ])("refuses %s at construction, naming the field", (_name, path, message) => {
    const azure = () => new AzureUpstream({ tenants: { main: tenant(path()) }, env: ENV });
    expect(azure).toThrow(BrokerConfigError);
    expect(azure).toThrow(message);
    expect(azure).toThrow(/^upstreams\.azure\.main\.caFile: /);
    const sts = () => new AwsUpstream({ config: aws(path()), env: ENV });
    expect(sts).toThrow(message);
    expect(sts).toThrow(/^upstreams\.aws\.caFile: /);
  });

  it("validates caFile as a string in both upstreams", () => {
    const config = (upstreams: unknown) => ({
      tls: { certFile: "c", keyFile: "k" },
      attestation: { audience: "https://b.example", policy: { allowAnyWorkload: true } },
      upstreams,
      grants: [{ name: "g", match: { allowAnyWorkload: true }, aws: [{ roleArn: ROLE_ARN }] }],
    });
    expect(() => validateBrokerConfig(config({ aws: { region: "us-east-1", caFile: 42 } }))).toThrow(
      /upstreams\.aws\.caFile/,
    );
    expect(() =>
      validateBrokerConfig(config({ aws: { region: "us-east-1" }, azure: { main: { ...tenant(), caFile: "" } } })),
    ).toThrow(/upstreams\.azure\.main\.caFile/);
    expect(
      validateBrokerConfig(config({ aws: { region: "us-east-1", caFile: "/ca.pem" } })).upstreams?.aws?.caFile,
    ).toBe("/ca.pem");
  });
});
