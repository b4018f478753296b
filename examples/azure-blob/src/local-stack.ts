// Everything the app talks to, on loopback, for the demo and local runs: the Confidential
// Space emulator (launcher socket + attestation issuer), a local Microsoft Entra token
// endpoint, the confspace token broker with a generated policy, and Azurite. Nothing here
// is needed in Confidential Space; there the launcher, the broker and Azure are real.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type BrokerCredentialOptions, ConfidentialSpaceBrokerCredential } from "@confspace/azure-credential";
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
import { type Broker, createBroker, loadBrokerConfig } from "@confspace/token-broker";
import { STORAGE_SCOPE } from "./app.js";

const TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID = "b7d3c1a0-4e5f-4a6b-8c9d-0e1f2a3b4c5d";
const AUDIENCE = "https://broker.confspace.local";

export interface LocalStackOptions {
  /** Where each step is printed. Default `console.log`. */
  log?: (line: string) => void;
  /** Entra access token lifetime, seconds. Default 3600. */
  entraTokenLifetimeSeconds?: number;
}

export interface LocalStack {
  /** `https://localhost:PORT`. */
  brokerUrl: string;
  audience: string;
  /** PEM of the local CA that signed every server certificate here. */
  caPem: string;
  /** Path of that CA (for `NODE_EXTRA_CA_CERTS` / `BROKER_CA_FILE` in another process). */
  caPath: string;
  /** Azurite's `https://127.0.0.1:PORT/devstoreaccount1`. */
  accountUrl: string;
  /** The emulator's launcher socket (what `CONFSPACE_LAUNCHER_SOCKET` points at). */
  launcherSocket: string;
  /** The image digest the broker's policy approves: the emulator's default workload. */
  imageDigest: string;
  /** The digest of the "other" image that the policy does not approve. */
  unapprovedDigest: string;
  /** The generated broker configuration file. */
  brokerConfigPath: string;
  /** Attestation tokens as a workload built from the unapproved image would get them. */
  unapprovedImage(): NonNullable<BrokerCredentialOptions["tokenSource"]>;
  /** A credential as the app builds it, but whose tokens say the workload runs the unapproved image. */
  unapprovedCredential(): ConfidentialSpaceBrokerCredential;
  /** Token requests the broker answered so far, by outcome. */
  brokerRequests(outcome?: string): number;
  stop(): Promise<void>;
}

/** Starts the emulator, local Entra, the broker and Azurite; on failure stops what started. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? ((line: string) => console.log(line));
  const cleanups: Array<() => unknown> = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
  };
  try {
    const pki: TestPki = await createTestPki();
    cleanups.push(() => pki.cleanup());
    // Stands in for the public CAs of Azure and of a real broker: this process trusts it.
    cleanups.push(trustCaInProcess(pki.caPem));
    log(`local CA generated (${pki.dir})`);

    const emulator: Emulator = await startEmulator();
    cleanups.push(() => emulator.stop());
    const imageDigest = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
    log(`Confidential Space emulator: launcher socket ${emulator.socketPath}, issuer ${emulator.issuer}`);
    log(`  workload image digest ${imageDigest}`);

    const clientSecret = `local-entra-secret-${Math.random().toString(36).slice(2)}`;
    const entra: LocalEntra = await startLocalEntra({
      tenantId: TENANT_ID,
      clients: [{ clientId: CLIENT_ID, clientSecret }],
      tls: { cert: pki.serverCertPem, key: pki.serverKeyPem },
      tokenLifetimeSeconds: options.entraTokenLifetimeSeconds ?? 3600,
    });
    cleanups.push(() => entra.close());
    log(`local Microsoft Entra token endpoint: ${entra.authorityHost} (tenant ${TENANT_ID})`);

    const brokerConfigPath = join(pki.dir, "broker.yaml");
    await writeFile(brokerConfigPath, brokerYaml({ pki, issuer: emulator.issuer, imageDigest, entra }), {
      mode: 0o600,
    });
    const lines: string[] = [];
    const broker: Broker = createBroker(await loadBrokerConfig(brokerConfigPath), {
      env: { LOCAL_ENTRA_CLIENT_SECRET: clientSecret },
      logger: {
        debug() {},
        info: (message, fields) => lines.push(JSON.stringify({ msg: message, ...fields })),
        warn: (message, fields) => lines.push(JSON.stringify({ msg: message, ...fields })),
        error: (message, fields) => lines.push(JSON.stringify({ msg: message, ...fields })),
      },
    });
    const { port } = await broker.listen();
    cleanups.push(() => broker.close({ timeoutMs: 1_000 }));
    const brokerUrl = `https://localhost:${port}`;
    log(`token broker: ${brokerUrl} (TLS 1.3), policy ${brokerConfigPath}`);
    log(`  grant "azure-blob-example": image ${imageDigest.slice(0, 19)}… → ${STORAGE_SCOPE}`);

    const azurite: LocalAzurite = await startAzurite({
      tls: { certPath: pki.serverCertPath, keyPath: pki.serverKeyPath },
    });
    cleanups.push(() => azurite.close());
    log(`Azurite blob service: ${azurite.accountUrl} (OAuth, HTTPS)`);

    const unapprovedDigest = `sha256:${"b".repeat(64)}`;
    const unapprovedImage = () => ({
      getToken: ({ nonces }: { nonces?: readonly string[] } = {}) =>
        emulator.mintToken({
          audience: AUDIENCE,
          nonces: [...(nonces ?? [])],
          mutateClaims: (claims) => {
            (claims.submods as { container: { image_digest: string } }).container.image_digest = unapprovedDigest;
          },
        }),
    });
    return {
      brokerUrl,
      audience: AUDIENCE,
      caPem: pki.caPem,
      caPath: pki.caPath,
      accountUrl: azurite.accountUrl,
      launcherSocket: emulator.socketPath,
      imageDigest,
      unapprovedDigest,
      brokerConfigPath,
      unapprovedImage,
      unapprovedCredential: () =>
        new ConfidentialSpaceBrokerCredential({
          brokerUrl,
          audience: AUDIENCE,
          ca: pki.caPem,
          tokenSource: unapprovedImage(),
        }),
      brokerRequests: (outcome) =>
        lines
          .map((line) => JSON.parse(line) as { msg?: string; outcome?: string })
          .filter((r) => r.msg === "token request" && (outcome === undefined || r.outcome === outcome)).length,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The broker's configuration, as an operator would write it (see examples/broker/broker.yaml). */
function brokerYaml(input: { pki: TestPki; issuer: string; imageDigest: string; entra: LocalEntra }): string {
  return `# Generated for the local demo. Trusts the emulator, which is NOT Google: never in production.
listen:
  host: 127.0.0.1
  port: 0
tls:
  certFile: ${input.pki.serverCertPath}
  keyFile: ${input.pki.serverKeyPath}
attestation:
  audience: ${AUDIENCE}
  issuer: ${input.issuer}
  policy:
    imageDigests: ["${input.imageDigest}"]
upstreams:
  azure:
    local:
      tenantId: ${TENANT_ID}
      clientId: ${CLIENT_ID}
      clientSecretEnv: LOCAL_ENTRA_CLIENT_SECRET
      authorityHost: ${input.entra.authorityHost}
grants:
  - name: azure-blob-example
    match:
      imageDigests: ["${input.imageDigest}"]
    azure:
      - tenant: local
        scopes: [${STORAGE_SCOPE}]
# The demo needs no Prometheus listener (its default port 9464 may be taken).
metrics: false
`;
}
