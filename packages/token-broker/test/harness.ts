// Shared setup of the broker's integration tests: the one local stack (@confspace/local's
// startLocalStack, services `azure` and `aws` without its own broker: throwaway PKI, emulator,
// local Entra, local AWS STS) with this suite's apps and roles, and brokers built from a config
// that points at them. Everything on loopback, stopped in `stop()`.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { jsonLogger, type Logger } from "@confspace/core";
import type { BoundTlsOptions } from "@confspace/ekm-tls";
import type { Emulator } from "@confspace/emulator";
import {
  type LocalAwsSts,
  type LocalEntra,
  type PolicyDocument,
  startLocalStack,
  type TestPki,
} from "@confspace/testing";
import type { Broker, BrokerConfig, CreateBrokerOptions } from "../src/index.js";
import { createBroker } from "../src/index.js";
import { STORAGE_SCOPE, type WorkloadRequestOptions, type WorkloadResponse, workloadRequest } from "./workload.js";

export const TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/** The local stack's client-secret app (checked at start). */
export const CLIENT_ID = "b7d3c1a0-4e5f-4a6b-8c9d-0e1f2a3b4c5d";
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
  // The roles trust the broker's user, for sessions tagged with the approved image digest
  // only: what an AWS account would configure, so the tags are checked as IAM sees them.
  const trustPolicy = (imageDigest: string): PolicyDocument => ({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: BROKER_USER_ARN },
        Action: ["sts:AssumeRole", "sts:TagSession"],
        Condition: { StringEquals: { "aws:RequestTag/container.image_digest": imageDigest } },
      },
    ],
  });
  const stack = await startLocalStack({
    services: ["azure", "aws"],
    log: () => {},
    emulator: { writeTokenFile: false },
    broker: false,
    azure: {
      clientSecret: CLIENT_SECRET,
      storage: false,
      clients: ({ pki }) => [{ clientId: CERT_CLIENT_ID, certificatePem: pki.clientCertPem }],
      ...(options.entraTokenLifetimeSeconds !== undefined && {
        tokenLifetimeSeconds: options.entraTokenLifetimeSeconds,
      }),
      ...(options.entraRefreshInSeconds !== undefined && { refreshInSeconds: options.entraRefreshInSeconds }),
    },
    aws: {
      brokerCredentials: { accessKeyId: AWS_ACCESS_KEY_ID, secretAccessKey: AWS_SECRET_ACCESS_KEY },
      roles: ({ imageDigest }) => [
        // ROLE_ARN also lets the broker set a source identity; OTHER_ROLE_ARN does not.
        {
          arn: ROLE_ARN,
          trustPolicy: {
            ...trustPolicy(imageDigest),
            Statement: [
              ...[trustPolicy(imageDigest).Statement].flat(),
              { Effect: "Allow", Principal: { AWS: BROKER_USER_ARN }, Action: "sts:SetSourceIdentity" },
            ],
          },
        },
        { arn: OTHER_ROLE_ARN, trustPolicy: trustPolicy(imageDigest) },
      ],
    },
  });
  const { pki, emulator, imageDigest } = stack;
  const { entra, tenantId, clientId } = stack.azure!;
  const { sts } = stack.aws!;
  if (tenantId !== TENANT_ID || clientId !== CLIENT_ID) {
    await stack.stop();
    throw new Error("the local stack's Entra tenant or app changed: update test/harness.ts");
  }
  const clientCertificateFile = join(pki.dir, "entra-client.pem");
  await writeFile(clientCertificateFile, `${pki.clientCertPem}\n${pki.clientKeyPem}`, { mode: 0o600 });
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
      await stack.stop();
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
