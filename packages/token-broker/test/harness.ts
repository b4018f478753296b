// Shared setup of the broker's integration tests: a test PKI, the Confidential Space
// emulator, a local Entra endpoint, a local AWS STS, and brokers built from a config that
// points at them. Everything on loopback, stopped in `stop()`.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { jsonLogger, type Logger } from "@confspace/core";
import type { BoundTlsOptions } from "@confspace/ekm-tls";
import { type Emulator, startEmulator } from "@confspace/emulator";
import {
  createTestPki,
  type LocalAwsSts,
  type LocalEntra,
  type PolicyDocument,
  startLocalAwsSts,
  startLocalEntra,
  type TestPki,
  trustCaInProcess,
} from "@confspace/testing";
import type { Broker, BrokerConfig, CreateBrokerOptions } from "../src/index.js";
import { createBroker } from "../src/index.js";
import { STORAGE_SCOPE, type WorkloadRequestOptions, type WorkloadResponse, workloadRequest } from "./workload.js";

export const TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47";
export const CLIENT_ID = "9a8b7c6d-1111-2222-3333-444455556666";
export const CERT_CLIENT_ID = "9a8b7c6d-1111-2222-3333-777788889999";
/** Recognisable so tests can assert it never appears in logs or replies. */
export const CLIENT_SECRET = "broker-client-secret-Zq8~do-not-log";
export const AWS_ACCESS_KEY_ID = "AKIABROKERTEST000001";
export const AWS_SECRET_ACCESS_KEY = "broker-aws-secret-key-do-not-log-0000000";
export const AUDIENCE = "https://broker.confspace.test";
export const ROLE_ARN = "arn:aws:iam::123456789012:role/confspace-reader";
export const OTHER_ROLE_ARN = "arn:aws:iam::123456789012:role/confspace-admin";
/** The IAM user whose key the broker signs AssumeRole with. */
export const BROKER_USER_ARN = "arn:aws:iam::123456789012:user/confspace-broker";
export const ENV = {
  BROKER_CLIENT_SECRET: CLIENT_SECRET,
  BROKER_AWS_ACCESS_KEY_ID: AWS_ACCESS_KEY_ID,
  BROKER_AWS_SECRET_ACCESS_KEY: AWS_SECRET_ACCESS_KEY,
};

/** Lines written by a broker's JSON logger, parsed. */
export interface LogCapture {
  lines: string[];
  records(): Array<Record<string, unknown>>;
}

export interface TestEnvironment {
  pki: TestPki;
  emulator: Emulator;
  entra: LocalEntra;
  /** Local AWS STS; the broker signs AssumeRole as {@link BROKER_USER_ARN}. */
  sts: LocalAwsSts;
  /** The emulator default profile's image digest. */
  imageDigest: string;
  /** PEM file with the client certificate and key, for a certificate-authenticated Entra app. */
  clientCertificateFile: string;
  /** TLS options a workload uses to reach the broker. */
  tls: BoundTlsOptions;
  /** A complete configuration pointing at the local servers; `edit` tweaks a copy. */
  config(edit?: (config: BrokerConfig) => void): BrokerConfig;
  /** Starts a broker on 127.0.0.1:0 with captured logs. */
  startBroker(config?: BrokerConfig, options?: CreateBrokerOptions): Promise<RunningBroker>;
  stop(): Promise<void>;
}

export interface RunningBroker {
  broker: Broker;
  url: string;
  logs: LogCapture;
  /** A workload request over a fresh bound connection (emulator-minted token). */
  request(options?: Partial<WorkloadRequestOptions>): Promise<WorkloadResponse>;
}

export interface TestEnvironmentOptions {
  /** Entra token lifetime, seconds. Default 3600. */
  entraTokenLifetimeSeconds?: number;
  entraRefreshInSeconds?: number;
}

export async function startTestEnvironment(options: TestEnvironmentOptions = {}): Promise<TestEnvironment> {
  const pki = await createTestPki();
  const untrust = trustCaInProcess(pki.caPem);
  const emulator = await startEmulator({ writeTokenFile: false });
  const entra = await startLocalEntra({
    tenantId: TENANT_ID,
    clients: [
      { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      { clientId: CERT_CLIENT_ID, certificatePem: pki.clientCertPem },
    ],
    tls: { cert: pki.serverCertPem, key: pki.serverKeyPem },
    ...(options.entraTokenLifetimeSeconds === undefined
      ? {}
      : { tokenLifetimeSeconds: options.entraTokenLifetimeSeconds }),
    ...(options.entraRefreshInSeconds === undefined ? {} : { refreshInSeconds: options.entraRefreshInSeconds }),
  });
  const clientCertificateFile = join(pki.dir, "entra-client.pem");
  await writeFile(clientCertificateFile, `${pki.clientCertPem}\n${pki.clientKeyPem}`, { mode: 0o600 });
  const imageDigest = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
  // The roles trust the broker's user, for sessions tagged with the approved image digest
  // only: what an AWS account would configure, so the tags are checked as IAM sees them.
  const trustPolicy: PolicyDocument = {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: BROKER_USER_ARN },
        Action: ["sts:AssumeRole", "sts:TagSession"],
        Condition: { StringEquals: { "aws:RequestTag/container.image_digest": imageDigest } },
      },
    ],
  };
  // ROLE_ARN also lets the broker set a source identity; OTHER_ROLE_ARN does not.
  const withSourceIdentity: PolicyDocument = {
    ...trustPolicy,
    Statement: [
      ...[trustPolicy.Statement].flat(),
      { Effect: "Allow", Principal: { AWS: BROKER_USER_ARN }, Action: "sts:SetSourceIdentity" },
    ],
  };
  const sts = await startLocalAwsSts({
    users: [{ arn: BROKER_USER_ARN, accessKeyId: AWS_ACCESS_KEY_ID, secretAccessKey: AWS_SECRET_ACCESS_KEY }],
    roles: [
      { arn: ROLE_ARN, trustPolicy: withSourceIdentity },
      { arn: OTHER_ROLE_ARN, trustPolicy },
    ],
  });
  const brokers: Broker[] = [];

  const config = (edit?: (config: BrokerConfig) => void): BrokerConfig => {
    const value: BrokerConfig = {
      listen: { host: "127.0.0.1", port: 0 },
      tls: { certFile: pki.serverCertPath, keyFile: pki.serverKeyPath },
      attestation: {
        audience: AUDIENCE,
        issuer: emulator.issuer,
        policy: { imageDigests: [imageDigest] },
      },
      upstreams: {
        azure: {
          main: {
            tenantId: TENANT_ID,
            clientId: CLIENT_ID,
            clientSecretEnv: "BROKER_CLIENT_SECRET",
            authorityHost: entra.authorityHost,
          },
          cert: {
            tenantId: TENANT_ID,
            clientId: CERT_CLIENT_ID,
            clientCertificateFile,
            authorityHost: entra.authorityHost,
          },
        },
        aws: {
          region: sts.region,
          endpoint: sts.endpoint,
          credentials: {
            accessKeyIdEnv: "BROKER_AWS_ACCESS_KEY_ID",
            secretAccessKeyEnv: "BROKER_AWS_SECRET_ACCESS_KEY",
          },
        },
      },
      grants: [
        {
          name: "storage-reader",
          match: { imageDigests: [imageDigest], projectIds: ["confspace-emulator"] },
          azure: [{ tenant: "main", scopes: [STORAGE_SCOPE] }],
          aws: [
            {
              roleArn: ROLE_ARN,
              maxDurationSeconds: 1800,
              sessionTags: {
                "container.image_digest": "submods.container.image_digest",
                "gce.project_id": "submods.gce.project_id",
                "confidential_space.support_attributes": "submods.confidential_space.support_attributes",
              },
            },
          ],
        },
        {
          name: "vault-via-cert",
          match: { imageDigests: [imageDigest] },
          azure: [{ tenant: "cert", scopes: ["https://vault.azure.net/.default"] }],
        },
      ],
      limits: {
        rateLimit: { ratePerSecond: 1000, burst: 100_000 },
        sourceRateLimit: { ratePerSecond: 1000, burst: 100_000 },
      },
      // Any free loopback port: the default 9464 would collide between parallel test files.
      metrics: { host: "127.0.0.1", port: 0 },
    };
    edit?.(value);
    return value;
  };

  return {
    pki,
    emulator,
    entra,
    sts,
    imageDigest,
    clientCertificateFile,
    tls: { ca: pki.caPem },
    config,
    async startBroker(brokerConfig = config(), brokerOptions = {}) {
      const logs = captureLogs();
      const broker = createBroker(brokerConfig, { env: ENV, logger: logs.logger, ...brokerOptions });
      brokers.push(broker);
      const { port } = await broker.listen();
      const url = `https://127.0.0.1:${port}`;
      return {
        broker,
        url,
        logs,
        request: (requestOptions = {}) =>
          workloadRequest(url, {
            audience: brokerConfig.attestation.audience,
            mint: (mintOptions) => emulator.mintToken(mintOptions),
            tls: { ca: pki.caPem },
            ...requestOptions,
          }),
      };
    },
    async stop() {
      await Promise.allSettled(brokers.map((broker) => broker.close({ timeoutMs: 1_000 })));
      await Promise.allSettled([emulator.stop(), entra.close(), sts.close()]);
      untrust();
      await pki.cleanup();
    },
  };
}

/** core's JSON-lines logger (as the CLI uses), writing into memory. */
export function captureLogs(): LogCapture & { logger: Logger } {
  const lines: string[] = [];
  return {
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    logger: jsonLogger({ level: "debug", stream: { write: (line: string) => lines.push(line) } }),
  };
}
