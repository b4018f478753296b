// The whole Azure path on loopback for integration tests, from @confspace/local's one
// local stack: the Confidential Space emulator, a local Entra token endpoint, the real
// token broker (createBroker) and, optionally, Azurite. Everything is stopped and removed
// in `stop()`.
import type { AttestationTokenSource } from "@confspace/attestation";
import { jsonLogger } from "@confspace/core";
import type { Emulator } from "@confspace/emulator";
import { type LocalAzurite, type LocalEntra, startLocalStack, type TestPki } from "@confspace/testing";
import type { BrokerConfig } from "@confspace/token-broker";
import { type BrokerCredentialOptions, ConfidentialSpaceBrokerCredential } from "../src/index.js";

/** Recognisable so tests can assert it never shows up. */
export const CLIENT_SECRET = "azure-credential-test-secret-do-not-log";
/** The local stack's Entra tenant and app (see @confspace/local). */
export const TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47";
export const CLIENT_ID = "b7d3c1a0-4e5f-4a6b-8c9d-0e1f2a3b4c5d";
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
  const lines: string[] = [];
  const stack = await startLocalStack({
    services: ["azure"],
    log: () => {},
    emulator: { writeTokenFile: false, tokenLifetimeSeconds: options.attestationTokenLifetimeSeconds ?? 3600 },
    azure: {
      clientSecret: CLIENT_SECRET,
      scopes: [STORAGE_SCOPE],
      tokenLifetimeSeconds: options.entraTokenLifetimeSeconds ?? 3600,
      storage: options.azurite === true,
    },
    broker: {
      audience: AUDIENCE,
      editConfig: (config, context) => {
        config.limits = { rateLimit: { ratePerSecond: 1000, burst: 10_000 } };
        options.editConfig?.(config, context);
      },
      logger: jsonLogger({ level: "debug", stream: { write: (line: string) => lines.push(line) } }),
    },
  });
  const credentials: ConfidentialSpaceBrokerCredential[] = [];
  const { emulator, pki } = stack;
  const brokerUrl = stack.broker!.url;
  const brokerLogs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    pki,
    emulator,
    entra: stack.azure!.entra,
    brokerUrl,
    azurite: stack.azure!.azurite,
    imageDigest: stack.imageDigest,
    brokerLogs,
    brokerRequests: (outcome) => stack.broker!.requests(outcome),
    credential(credentialOptions = {}) {
      const credential = new ConfidentialSpaceBrokerCredential({
        brokerUrl,
        audience: AUDIENCE,
        ca: pki.caPem,
        ...(credentialOptions.tokenSource === undefined ? { launcherSocket: emulator.socketPath } : {}),
        ...credentialOptions,
      });
      credentials.push(credential);
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
    async stop() {
      for (const credential of credentials.splice(0)) credential.dispose();
      await stack.stop();
    },
  };
}
