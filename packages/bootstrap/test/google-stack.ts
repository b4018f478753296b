// Test-only: the one local stack (@confspace/local's startLocalStack, service `gcp`: the
// emulator with its token file and launcher socket, local Google STS and Cloud KMS) with one
// collaborator's provider and a key only that provider's approved image may decrypt with.
// Everything on loopback, removed in stop().
import type { Emulator } from "@confspace/emulator";
import { type LocalGoogleSts, type LocalKms, startLocalStack } from "@confspace/testing";

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
  const stack = await startLocalStack({
    services: ["gcp"],
    log: () => {},
    emulator: { tokenLifetimeSeconds: options.attestationLifetimeSeconds ?? 3600 },
    gcp: {
      providers: [
        {
          audience: PROVIDER,
          allowedAudiences: ["https://sts.googleapis.com"],
          attributeMapping:
            "google.subject=assertion.sub,attribute.image_digest=assertion.submods.container.image_digest",
          attributeCondition: "assertion.swname == 'CONFIDENTIAL_SPACE'",
        },
      ],
      staticTokens: [{ token: OWNER_TOKEN, member: OWNER }],
      keys: ({ imageDigest }) => [
        {
          name: KEY,
          bindings: [
            { role: "roles/cloudkms.cryptoKeyEncrypter", members: [OWNER] },
            {
              role: "roles/cloudkms.cryptoKeyDecrypter",
              members: [`principalSet://iam.googleapis.com/${POOL}/attribute.image_digest/${imageDigest}`],
            },
          ],
        },
        { name: FORBIDDEN_KEY, bindings: [{ role: "roles/cloudkms.cryptoKeyEncrypter", members: [OWNER] }] },
      ],
      ...(options.stsTokenLifetimeSeconds !== undefined && { tokenLifetimeSeconds: options.stsTokenLifetimeSeconds }),
    },
  });
  const { emulator } = stack;
  const { sts, kms } = stack.gcp!;
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
    stop: () => stack.stop(),
  };
}
