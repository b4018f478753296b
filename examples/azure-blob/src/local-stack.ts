// Everything the app talks to, on loopback, for the demo and local runs, started by
// @confspace/local (development only): the Confidential Space emulator (launcher socket +
// attestation issuer), a local Microsoft Entra token endpoint, the confspace token broker
// approving only the emulator's image, and Azurite. Nothing here is needed in Confidential
// Space; there the launcher, the broker and Azure are real.
import { type BrokerCredentialOptions, ConfidentialSpaceBrokerCredential } from "@confspace/azure-credential";
import { startLocalStack as startLocal } from "@confspace/local";
import { STORAGE_SCOPE } from "./app.js";

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
  const stack = await startLocal({
    services: ["azure"],
    azure: { scopes: [STORAGE_SCOPE], tokenLifetimeSeconds: options.entraTokenLifetimeSeconds ?? 3600 },
    ...(options.log ? { log: options.log } : {}),
  });
  const broker = stack.broker!;
  const azurite = stack.azure!.azurite;
  if (azurite === undefined) {
    await stack.stop();
    throw new Error("Azurite is not installed: run `pnpm install` (it is a devDependency of this example).");
  }
  const unapprovedDigest = `sha256:${"b".repeat(64)}`;
  const unapprovedImage = () => ({
    getToken: ({ nonces }: { nonces?: readonly string[] } = {}) =>
      stack.emulator.mintToken({
        audience: broker.audience,
        nonces: [...(nonces ?? [])],
        mutateClaims: (claims) => {
          (claims.submods as { container: { image_digest: string } }).container.image_digest = unapprovedDigest;
        },
      }),
  });
  return {
    brokerUrl: broker.url,
    audience: broker.audience,
    caPem: stack.pki.caPem,
    caPath: stack.caPath,
    accountUrl: azurite.accountUrl,
    launcherSocket: stack.emulator.socketPath,
    imageDigest: stack.imageDigest,
    unapprovedDigest,
    unapprovedImage,
    unapprovedCredential: () =>
      new ConfidentialSpaceBrokerCredential({
        brokerUrl: broker.url,
        audience: broker.audience,
        ca: stack.pki.caPem,
        tokenSource: unapprovedImage(),
      }),
    brokerRequests: (outcome) => broker.requests(outcome),
    stop: () => stack.stop(),
  };
}
