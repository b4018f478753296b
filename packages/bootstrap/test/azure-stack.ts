// Test-only: the emulator (launcher socket), a local Entra token endpoint with short-lived
// tokens, and the real token broker with an Azure grant for Storage. The broker reaches
// Entra from this process, which trusts the test CA for that. Removed in stop().
import { type Emulator, startEmulator } from "@confspace/emulator";
import { createTestPki, type LocalEntra, startLocalEntra, type TestPki, trustCaInProcess } from "@confspace/testing";
import { type Broker, type BrokerConfig, createBroker } from "@confspace/token-broker";
import { shutdown } from "./processes.js";

export const TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47";
export const CLIENT_ID = "3d0c9f6e-1b2a-4c5d-8e7f-9a0b1c2d3e4f";
const CLIENT_SECRET = "bootstrap-entra-secret-do-not-log";
export const AUDIENCE = "https://broker.confspace.test";
export const STORAGE = "https://storage.azure.com";

export interface AzureStack {
  pki: TestPki;
  emulator: Emulator;
  entra: LocalEntra;
  broker: Broker;
  brokerUrl: string;
  stop(): Promise<void>;
}

export async function startAzureStack(options: { entraTokenLifetimeSeconds?: number } = {}): Promise<AzureStack> {
  const pki = await createTestPki();
  const untrust = trustCaInProcess(pki.caPem);
  const emulator = await startEmulator({ writeTokenFile: false });
  const entra = await startLocalEntra({
    tenantId: TENANT_ID,
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }],
    tls: { cert: pki.serverCertPem, key: pki.serverKeyPem },
    tokenLifetimeSeconds: options.entraTokenLifetimeSeconds ?? 3600,
  });
  const digest = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
  const broker = createBroker(
    {
      listen: { host: "127.0.0.1", port: 0 },
      tls: { certFile: pki.serverCertPath, keyFile: pki.serverKeyPath },
      attestation: { audience: AUDIENCE, issuer: emulator.issuer, policy: { imageDigests: [digest] } },
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
          name: "app",
          match: { imageDigests: [digest] },
          azure: [{ tenant: "main", scopes: [`${STORAGE}/.default`] }],
        },
      ],
      limits: { rateLimit: { ratePerSecond: 1000, burst: 10_000 } },
      // No metrics listener (a fixed port) in tests; the key is newer than some broker versions.
      metrics: false,
    } as BrokerConfig,
    { env: { BROKER_CLIENT_SECRET: CLIENT_SECRET } },
  );
  const { port } = await broker.listen();
  return {
    pki,
    emulator,
    entra,
    broker,
    brokerUrl: `https://localhost:${port}`,
    async stop() {
      await broker.close({ timeoutMs: 1_000 });
      await shutdown(entra);
      await shutdown(emulator);
      untrust();
      await pki.cleanup();
    },
  };
}
