// Test-only: the Confidential Space emulator (token file and launcher socket), a local
// Google STS with one collaborator's provider and a local Cloud KMS whose key only that
// provider's approved image may decrypt with. Everything on loopback, removed in stop().
import { type Emulator, startEmulator } from "@confspace/emulator";
import { type LocalGoogleSts, type LocalKms, startLocalGoogleSts, startLocalKms } from "@confspace/testing";
import { shutdown } from "./processes.js";

export const POOL = "projects/100000000000/locations/global/workloadIdentityPools/trusted-workload-pool";
export const PROVIDER = `//iam.googleapis.com/${POOL}/providers/attestation-verifier`;
export const KEY = "projects/collaborator-project/locations/global/keyRings/kr1/cryptoKeys/key1";
/** A key the workload's image is not allowed to decrypt with. */
export const FORBIDDEN_KEY = "projects/collaborator-project/locations/global/keyRings/kr1/cryptoKeys/other";
const OWNER = "user:owner@collaborator.example";
const OWNER_TOKEN = "local-owner-token";

export interface GoogleStack {
  emulator: Emulator;
  sts: LocalGoogleSts;
  kms: LocalKms;
  /** The KMS ciphertext of `plaintext` under `key` (the owner encrypts), base64. */
  encrypt(plaintext: string, key?: string, aad?: string): Promise<string>;
  /** Environment a child needs to reach the emulator (token file, launcher socket). */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

export interface GoogleStackOptions {
  /** Attestation token lifetime, seconds. Default 3600. */
  attestationLifetimeSeconds?: number;
  /** Federated access token lifetime, seconds. Default 3600. */
  stsTokenLifetimeSeconds?: number;
}

export async function startGoogleStack(options: GoogleStackOptions = {}): Promise<GoogleStack> {
  const emulator = await startEmulator({ tokenLifetimeSeconds: options.attestationLifetimeSeconds ?? 3600 });
  const digest = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
  const sts = await startLocalGoogleSts({
    providers: [
      {
        audience: PROVIDER,
        issuer: `${emulator.issuer}/`,
        allowedAudiences: ["https://sts.googleapis.com"],
        attributeMapping:
          "google.subject=assertion.sub,attribute.image_digest=assertion.submods.container.image_digest",
        attributeCondition: "assertion.swname == 'CONFIDENTIAL_SPACE'",
      },
    ],
    ...(options.stsTokenLifetimeSeconds !== undefined && { tokenLifetimeSeconds: options.stsTokenLifetimeSeconds }),
  });
  const kms = await startLocalKms({
    tokenIssuers: [sts],
    staticTokens: [{ token: OWNER_TOKEN, member: OWNER }],
    keys: [
      {
        name: KEY,
        bindings: [
          { role: "roles/cloudkms.cryptoKeyEncrypter", members: [OWNER] },
          {
            role: "roles/cloudkms.cryptoKeyDecrypter",
            members: [`principalSet://iam.googleapis.com/${POOL}/attribute.image_digest/${digest}`],
          },
        ],
      },
      { name: FORBIDDEN_KEY, bindings: [{ role: "roles/cloudkms.cryptoKeyEncrypter", members: [OWNER] }] },
    ],
  });
  return {
    emulator,
    sts,
    kms,
    async encrypt(plaintext, key = KEY, aad) {
      const response = await fetch(`${kms.endpoint}/v1/${key}:encrypt`, {
        method: "POST",
        headers: { authorization: `Bearer ${OWNER_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({
          plaintext: Buffer.from(plaintext).toString("base64"),
          ...(aad !== undefined && { additionalAuthenticatedData: Buffer.from(aad).toString("base64") }),
        }),
      });
      if (!response.ok) throw new Error(`local KMS encrypt: ${response.status}`);
      return ((await response.json()) as { ciphertext: string }).ciphertext;
    },
    env: () => ({ CONFSPACE_TOKEN_FILE: emulator.tokenFile, CONFSPACE_LAUNCHER_SOCKET: emulator.socketPath }),
    async stop() {
      await Promise.allSettled([shutdown(kms), shutdown(sts)]);
      await shutdown(emulator);
    },
  };
}
