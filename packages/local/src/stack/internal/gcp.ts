import { randomBytes } from "node:crypto";
import { type LocalIamCredentials, startLocalIamCredentials } from "../../google/iam-credentials.js";
import { type LocalKms, startLocalKms } from "../../google/kms.js";
import { type LocalGoogleSts, startLocalGoogleSts } from "../../google/sts.js";
import type { LocalStackOptions } from "../stack-types.js";

const POOL = "projects/100000000000/locations/global/workloadIdentityPools/confspace-local";
const AUDIENCE = `//iam.googleapis.com/${POOL}/providers/attestation-verifier`;
const KEY_NAME = "projects/confspace-local/locations/global/keyRings/local/cryptoKeys/app";
const SERVICE_ACCOUNT = "app@confspace-local.iam.gserviceaccount.com";
const DEVELOPER = "user:developer@confspace.local";
const MAPPING =
  "google.subject=assertion.sub,attribute.image_digest=assertion.submods.container.image_digest,attribute.image_reference=assertion.submods.container.image_reference";
const CONDITION =
  "assertion.swname == 'CONFIDENTIAL_SPACE' && 'STABLE' in assertion.submods.confidential_space.support_attributes";

export interface GcpServices {
  sts: LocalGoogleSts;
  iamCredentials: LocalIamCredentials;
  kms: LocalKms;
  audience: string;
  keyName: string;
  serviceAccount: string;
  developerToken: string;
}

/** Local Google STS (one pool trusting the emulator), IAM Credentials (one service account) and KMS (one key). */
export async function startGcpServices(
  input: { issuer: string; imageDigest: string },
  options: NonNullable<LocalStackOptions["gcp"]>,
  track: (close: () => Promise<void>) => void,
  log: (line: string) => void,
): Promise<GcpServices> {
  const image = `principalSet://iam.googleapis.com/${POOL}/attribute.image_digest/${input.imageDigest}`;
  const developerToken = `local-developer-${randomBytes(16).toString("hex")}`;
  const sts = await startLocalGoogleSts({
    providers: (
      options.providers ?? [
        {
          audience: AUDIENCE,
          allowedAudiences: ["https://sts.googleapis.com"],
          attributeMapping: MAPPING,
          attributeCondition: CONDITION,
        },
      ]
    ).map((p) => ({ ...p, issuer: p.issuer ?? `${input.issuer}/` })),
    ...(options.tokenLifetimeSeconds !== undefined && { tokenLifetimeSeconds: options.tokenLifetimeSeconds }),
  });
  track(() => sts.close());
  const iamCredentials = await startLocalIamCredentials({
    tokenIssuers: [sts],
    serviceAccounts: [
      { email: SERVICE_ACCOUNT, bindings: [{ role: "roles/iam.workloadIdentityUser", members: [image] }] },
    ],
  });
  track(() => iamCredentials.close());
  const kms = await startLocalKms({
    tokenIssuers: [sts, iamCredentials],
    staticTokens: options.staticTokens ?? [{ token: developerToken, member: DEVELOPER }],
    keys: (typeof options.keys === "function" ? options.keys({ imageDigest: input.imageDigest }) : options.keys) ?? [
      {
        name: KEY_NAME,
        bindings: [
          { role: "roles/cloudkms.cryptoKeyEncrypter", members: [DEVELOPER] },
          { role: "roles/cloudkms.cryptoKeyDecrypter", members: [image, `serviceAccount:${SERVICE_ACCOUNT}`] },
        ],
      },
    ],
  });
  track(() => kms.close());
  log(`local Google STS ${sts.tokenUrl}, IAM Credentials ${iamCredentials.endpoint}, KMS ${kms.endpoint}`);
  return {
    sts,
    iamCredentials,
    kms,
    audience: AUDIENCE,
    keyName: KEY_NAME,
    serviceAccount: SERVICE_ACCOUNT,
    developerToken,
  };
}
