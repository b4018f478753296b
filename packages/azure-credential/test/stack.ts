// The whole Azure path on loopback for integration tests: the Confidential Space
// emulator, a local Entra token endpoint, the real token broker (createBroker) and,
// optionally, Azurite. Everything is stopped and removed in `stop()`.
import type { AttestationTokenSource } from "@confspace/attestation";
import { jsonLogger } from "@confspace/core";
import { type Emulator, startEmulator } from "@confspace/emulator";
import {
  createTestPki,
  type LocalAzurite,
  type LocalEntra,
  startAzurite,
  startLocalEntra,
  type TestPki,
  trustCaInProcess,
} from "@confspace/testing";
import { type Broker, type BrokerConfig, createBroker } from "@confspace/token-broker";
import { type BrokerCredentialOptions, ConfidentialSpaceBrokerCredential } from "../src/index.js";

export const TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47";
export const CLIENT_ID = "5c1f0e2a-7d3b-4e8f-9a6c-1b2d3e4f5a6b";
/** Recognisable so tests can assert it never shows up. */
export const CLIENT_SECRET = "azure-credential-test-secret-do-not-log";
export const AUDIENCE = "https://broker.confspace.test";
export const STORAGE_SCOPE = "https://storage.azure.com/.default";
export const UNAPPROVED_DIGEST = `sha256:${"0".repeat(63)}1`;

export interface StackOptions {
  /** Entra access token lifetime, seconds. Default 3600. */
  entraTokenLifetimeSeconds?: number;
  /** Attestation token lifetime, seconds. Default 3600. */
  attestationTokenLifetimeSeconds?: number;
  /** Start Azurite too. Default false. */
  azurite?: boolean;
  /** Edits the broker configuration before the broker starts. */
  editConfig?: (config: BrokerConfig, context: { pki: TestPki }) => void;
}

export interface AzureStack {
  pki: TestPki;
  emulator: Emulator;
  entra: LocalEntra;
  broker: Broker;
  brokerUrl: string;
  /** Present when started with `azurite: true`. */
  azurite: LocalAzurite | undefined;
  /** The image digest the broker approves (the emulator's default profile). */
  imageDigest: string;
  /** The broker's log records. */
  brokerLogs(): Array<Record<string, unknown>>;
  /** Token requests the broker answered, by outcome (`ok`, `invalid_token`, …). */
  brokerRequests(outcome?: string): number;
  /** A credential for this broker and the emulator's launcher socket; disposed in `stop()`. */
  credential(options?: BrokerCredentialOptions): ConfidentialSpaceBrokerCredential;
  /** A token source that mints tokens as a workload running an unapproved image would get them. */
  unapprovedImage(): AttestationTokenSource;
  stop(): Promise<void>;
}

export async function startAzureStack(options: StackOptions = {}): Promise<AzureStack> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
  };
  try {
    const pki = await createTestPki();
    cleanups.push(() => pki.cleanup());
    cleanups.push(trustCaInProcess(pki.caPem));
    const emulator = await startEmulator({
      writeTokenFile: false,
      tokenLifetimeSeconds: options.attestationTokenLifetimeSeconds ?? 3600,
    });
    cleanups.push(() => emulator.stop());
    const entra = await startLocalEntra({
      tenantId: TENANT_ID,
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }],
      tls: { cert: pki.serverCertPem, key: pki.serverKeyPem },
      tokenLifetimeSeconds: options.entraTokenLifetimeSeconds ?? 3600,
    });
    cleanups.push(() => entra.close());
    const imageDigest = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
    const config: BrokerConfig = {
      listen: { host: "127.0.0.1", port: 0 },
      tls: { certFile: pki.serverCertPath, keyFile: pki.serverKeyPath },
      attestation: { audience: AUDIENCE, issuer: emulator.issuer, policy: { imageDigests: [imageDigest] } },
      upstreams: {
        azure: {
          main: {
            tenantId: TENANT_ID,
            clientId: CLIENT_ID,
            clientSecretEnv: "BROKER_CLIENT_SECRET",
            authorityHost: entra.authorityHost,
          },
        },
      },
      grants: [
        {
          name: "blob-app",
          match: { imageDigests: [imageDigest] },
          azure: [{ tenant: "main", scopes: [STORAGE_SCOPE] }],
        },
      ],
      limits: { rateLimit: { ratePerSecond: 1000, burst: 10_000 } },
      // No metrics listener: its default port would collide between parallel test files.
      metrics: false,
    };
    options.editConfig?.(config, { pki });
    const lines: string[] = [];
    const broker = createBroker(config, {
      env: { BROKER_CLIENT_SECRET: CLIENT_SECRET },
      logger: jsonLogger({ level: "debug", stream: { write: (line: string) => lines.push(line) } }),
    });
    const { port } = await broker.listen();
    cleanups.push(() => broker.close({ timeoutMs: 1_000 }));
    let azurite: LocalAzurite | undefined;
    if (options.azurite) {
      azurite = await startAzurite({ tls: { certPath: pki.serverCertPath, keyPath: pki.serverKeyPath } });
      cleanups.push(() => azurite?.close());
    }
    const brokerUrl = `https://localhost:${port}`;
    const brokerLogs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    return {
      pki,
      emulator,
      entra,
      broker,
      brokerUrl,
      azurite,
      imageDigest,
      brokerLogs,
      brokerRequests: (outcome) =>
        brokerLogs().filter((r) => r.msg === "token request" && (outcome === undefined || r.outcome === outcome))
          .length,
      credential(credentialOptions = {}) {
        const credential = new ConfidentialSpaceBrokerCredential({
          brokerUrl,
          audience: AUDIENCE,
          ca: pki.caPem,
          ...(credentialOptions.tokenSource === undefined ? { launcherSocket: emulator.socketPath } : {}),
          ...credentialOptions,
        });
        cleanups.push(() => credential.dispose());
        return credential;
      },
      unapprovedImage: () => ({
        getToken: ({ nonces } = {}) =>
          emulator.mintToken({
            audience: AUDIENCE,
            nonces: [...(nonces ?? [])],
            mutateClaims: (claims) => {
              (claims.submods as { container: { image_digest: string } }).container.image_digest = UNAPPROVED_DIGEST;
            },
          }),
      }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
