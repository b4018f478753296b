// Test world: the Confidential Space emulator plus local Google STS, IAM Credentials and
// KMS from @confspace/testing, configured the way the README tells collaborators to
// configure Google Cloud (issuer URI with Google's trailing slash, the default token's
// audience, attribute mapping and condition in CEL, principalSet bindings on KMS keys).
import { type Emulator, type EmulatorOptions, startEmulator } from "@confspace/emulator";
import {
  type LocalGoogleSts,
  type LocalIamCredentials,
  type LocalKms,
  startLocalGoogleSts,
  startLocalIamCredentials,
  startLocalKms,
} from "@confspace/testing";

export const MAPPING =
  "google.subject=assertion.sub,attribute.image_reference=assertion.submods.container.image_reference,attribute.image_digest=assertion.submods.container.image_digest";

/** The current documented form of a Confidential Space attestation policy, for the emulator's default profile. */
export const CONDITION =
  "assertion.swname == 'CONFIDENTIAL_SPACE' && 'STABLE' in assertion.submods.confidential_space.support_attributes" +
  " && assertion.submods.gce.project_id == 'confspace-emulator'" +
  " && 'workload@confspace-emulator.iam.gserviceaccount.com' in assertion.google_service_accounts";

export interface TestCollaborator {
  projectId: string;
  projectNumber: string;
  pool: string;
  audience: string;
  keyName: string;
  /** The collaborator's own (user) access token, allowed to encrypt with its key. */
  userToken: string;
  /** A service account the workload may impersonate; allowed to decrypt with the key. */
  serviceAccount: string;
}

export interface LocalGoogle {
  emulator: Emulator;
  sts: LocalGoogleSts;
  iam: LocalIamCredentials;
  kms: LocalKms;
  one: TestCollaborator;
  two: TestCollaborator;
  /** `image_reference` and `image_digest` of the emulator's workload. */
  image: { reference: string; digest: string };
  stop(): Promise<void>;
}

function collaborator(projectId: string, projectNumber: string): TestCollaborator {
  const pool = `projects/${projectNumber}/locations/global/workloadIdentityPools/trusted-workload-pool`;
  return {
    projectId,
    projectNumber,
    pool,
    audience: `//iam.googleapis.com/${pool}/providers/attestation-verifier`,
    keyName: `projects/${projectId}/locations/global/keyRings/kr1/cryptoKeys/key1`,
    userToken: `user-token-${projectId}`,
    serviceAccount: `decrypter@${projectId}.iam.gserviceaccount.com`,
  };
}

export async function startLocalGoogle(
  options: { emulator?: EmulatorOptions; stsTokenLifetimeSeconds?: number } = {},
): Promise<LocalGoogle> {
  const emulator = await startEmulator(options.emulator);
  const container = (emulator.claims().submods as { container: { image_reference: string; image_digest: string } })
    .container;
  const image = { reference: container.image_reference, digest: container.image_digest };
  const one = collaborator("collab-one", "111111111111");
  const two = collaborator("collab-two", "222222222222");
  const sts = await startLocalGoogleSts({
    tokenLifetimeSeconds: options.stsTokenLifetimeSeconds,
    providers: [one, two].map((c) => ({
      audience: c.audience,
      issuer: `${emulator.issuer}/`,
      allowedAudiences: ["https://sts.googleapis.com"],
      attributeMapping: MAPPING,
      attributeCondition: CONDITION,
    })),
  });
  const iam = await startLocalIamCredentials({
    tokenIssuers: [sts],
    serviceAccounts: [one, two].map((c) => ({
      email: c.serviceAccount,
      bindings: [
        {
          role: "roles/iam.workloadIdentityUser",
          members: [`principalSet://iam.googleapis.com/${c.pool}/attribute.image_digest/${image.digest}`],
        },
      ],
    })),
  });
  const kms = await startLocalKms({
    tokenIssuers: [sts, iam],
    staticTokens: [one, two].map((c) => ({ token: c.userToken, member: `user:owner@${c.projectId}.example` })),
    keys: [
      {
        name: one.keyName,
        bindings: [
          { role: "roles/cloudkms.cryptoKeyEncrypter", members: [`user:owner@${one.projectId}.example`] },
          {
            role: "roles/cloudkms.cryptoKeyDecrypter",
            members: [
              `principalSet://iam.googleapis.com/${one.pool}/attribute.image_reference/${image.reference}`,
              `serviceAccount:${one.serviceAccount}`,
            ],
          },
        ],
      },
      {
        name: two.keyName,
        bindings: [
          { role: "roles/cloudkms.cryptoKeyEncrypter", members: [`user:owner@${two.projectId}.example`] },
          {
            role: "roles/cloudkms.cryptoKeyDecrypter",
            members: [
              `principalSet://iam.googleapis.com/${two.pool}/attribute.image_digest/${image.digest}`,
              `serviceAccount:${two.serviceAccount}`,
            ],
          },
        ],
      },
    ],
  });
  return {
    emulator,
    sts,
    iam,
    kms,
    one,
    two,
    image,
    stop: async () => {
      await Promise.all([kms.close(), iam.close(), sts.close()]);
      await emulator.stop();
    },
  };
}
