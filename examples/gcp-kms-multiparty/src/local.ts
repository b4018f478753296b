// `pnpm --filter @confspace-examples/gcp-kms-multiparty start`: the whole scenario on
// loopback — the Confidential Space emulator, and local Google STS and Cloud KMS started by
// @confspace/local (development only), configured as the README's gcloud commands configure Google Cloud —
// running the same app as main.ts. Nothing here is needed in production.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_PROFILE } from "@confspace/emulator";
import { startLocalStack } from "@confspace/local";
import { type GcpRendering, renderGcp, type WorkloadPolicy } from "@confspace/policy";
import { KeyManagementServiceClient } from "@google-cloud/kms";
import { OAuth2Client } from "google-auth-library";
import { countWords, type EncryptedMessage, MESSAGE_AAD, type WordCountResult } from "./app.js";
import type { Collaborator } from "./collaborators.js";

const REPOSITORY = "us-docker.pkg.dev/operator-project/workloads/wordcount";
/** The build both collaborators approved, and a newer one only collaborator 1 has approved so far. */
export const APPROVED_DIGEST = DEFAULT_PROFILE.submods.container.image_digest;
export const NEW_BUILD_DIGEST = "sha256:5f1d7a0c2b3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccdde";
const OPERATOR_PROJECT = DEFAULT_PROFILE.submods.gce.project_id;
const OPERATOR_SA = DEFAULT_PROFILE.google_service_accounts[0]!;

/**
 * The workload policy each collaborator approves: the operator's project and service
 * account, production images only (the policy's defaults), and the builds it approved.
 * `@confspace/policy` renders it as the provider's attribute mapping and condition and
 * as the decrypter binding's members — what `confspace-policy render --target gcp` prints
 * as gcloud commands (see README).
 */
export function collaboratorPolicy(approvedDigests: string[]): WorkloadPolicy {
  return {
    imageDigests: approvedDigests,
    projectIds: [OPERATOR_PROJECT],
    serviceAccounts: [OPERATOR_SA],
    audience: "https://sts.googleapis.com",
  };
}

const SENT: Record<string, string[]> = {
  "collaborator-1": ["The quick brown fox", "jumps over the lazy dog"],
  "collaborator-2": ["The dog barks at the fox", "and the fox runs"],
};

function collaborator(
  index: number,
  approvedDigests: string[],
): Collaborator & { provider: GcpRendering; owner: string; ownerToken: string } {
  const provider = renderGcp(collaboratorPolicy(approvedDigests), {
    poolProjectNumber: `${index}00000000000`,
    poolId: "trusted-workload-pool",
    providerId: "attestation-verifier",
  });
  return {
    name: `collaborator-${index}`,
    audience: provider.providerResourceName,
    keyName: `projects/collaborator-${index}-project/locations/global/keyRings/kr1/cryptoKeys/key1`,
    provider,
    owner: `user:owner@collaborator-${index}.example`,
    ownerToken: `local-user-token-${index}`,
  };
}

export interface LocalRun {
  approved: WordCountResult;
  newBuild: WordCountResult;
  /** KMS decrypt calls made for the message from the unknown collaborator (should be none). */
  kmsCallsForUnknown: number;
}

export async function runLocal(log: (line: string) => void = console.log): Promise<LocalRun> {
  const dir = await mkdtemp(join(tmpdir(), "confspace-wordcount-"));
  // Collaborator 1 approved both builds, collaborator 2 only the first.
  const [one, two] = [collaborator(1, [APPROVED_DIGEST, NEW_BUILD_DIGEST]), collaborator(2, [APPROVED_DIGEST])];
  const stack = await startLocalStack({
    services: ["gcp"],
    emulator: { profile: { submods: { container: { image_reference: `${REPOSITORY}@${APPROVED_DIGEST}` } } } },
    log,
    gcp: {
      // Each provider trusts the emulator's issuer (Google: https://confidentialcomputing.googleapis.com/).
      providers: [one, two].map((c) => ({
        audience: c.audience,
        allowedAudiences: c.provider.allowedAudiences,
        attributeMapping: c.provider.attributeMapping,
        attributeCondition: c.provider.attributeCondition,
      })),
      staticTokens: [one, two].map((c) => ({ token: c.ownerToken, member: c.owner })),
      keys: [
        {
          name: one.keyName,
          bindings: [
            { role: "roles/cloudkms.cryptoKeyEncrypter", members: [one.owner] },
            { role: "roles/cloudkms.cryptoKeyDecrypter", members: one.provider.members },
          ],
        },
        {
          name: two.keyName,
          bindings: [
            { role: "roles/cloudkms.cryptoKeyEncrypter", members: [two.owner] },
            { role: "roles/cloudkms.cryptoKeyDecrypter", members: two.provider.members },
          ],
        },
      ],
    },
  });
  const { emulator } = stack;
  const { sts, kms } = stack.gcp!;
  log(`emulator issuer ${emulator.issuer}; local STS ${sts.tokenUrl}; local KMS ${kms.endpoint}`);
  try {
    // Each collaborator encrypts its messages with its own key and its own credentials.
    const messages: EncryptedMessage[] = [];
    for (const c of [one, two]) {
      const owner = new OAuth2Client();
      owner.setCredentials({ access_token: c.ownerToken });
      const client = new KeyManagementServiceClient({ ...kms.clientOptions, authClient: owner });
      for (const text of SENT[c.name]!) {
        const [{ ciphertext }] = await client.encrypt({
          name: c.keyName,
          plaintext: Buffer.from(text),
          additionalAuthenticatedData: MESSAGE_AAD,
        });
        messages.push({ collaborator: c.name, ciphertext: Buffer.from(ciphertext as Uint8Array).toString("base64") });
      }
      await client.close();
      log(`${c.name} encrypted ${SENT[c.name]!.length} messages with ${c.keyName}`);
    }
    // Someone who is not a configured collaborator slips a message in.
    messages.push({ collaborator: "collaborator-3", ciphertext: messages[0]!.ciphertext });

    const options = {
      collaborators: [one, two].map(({ name, audience, keyName }) => ({ name, audience, keyName })),
      kms: { apiEndpoint: kms.clientOptions.apiEndpoint, port: kms.clientOptions.port, protocol: "http" as const },
      log: (line: string) => log(`  app: ${line}`),
    };

    log(`— the approved build (${APPROVED_DIGEST.slice(0, 19)}…)`);
    const before = kms.requests.length;
    const approved = await countWords(messages, {
      ...options,
      federation: {
        tokenUrl: sts.tokenUrl,
        tokenFile: emulator.tokenFile,
        launcher: { socketPath: emulator.socketPath },
      },
    });
    const kmsCallsForUnknown = kms.requests.length - before - (messages.length - 1);
    log(`  decrypted ${JSON.stringify(approved.decrypted)}, refused ${JSON.stringify(approved.refused)}`);
    log(`  word counts: ${approved.counts.map(([w, n]) => `${w}=${n}`).join(" ")}`);

    // The operator runs a newer build: its launcher writes tokens carrying the new digest.
    log(`— a new build (${NEW_BUILD_DIGEST.slice(0, 19)}…) that collaborator 2 has not approved`);
    const newBuildFile = join(dir, "new-build", "attestation_verifier_claims_token");
    await mkdir(join(dir, "new-build"));
    await writeFile(
      newBuildFile,
      await emulator.mintToken({
        mutateClaims: (claims) => {
          const container = (claims.submods as { container: Record<string, unknown> }).container;
          container.image_digest = NEW_BUILD_DIGEST;
          container.image_reference = `${REPOSITORY}@${NEW_BUILD_DIGEST}`;
        },
      }),
    );
    const newBuild = await countWords(messages, {
      ...options,
      federation: {
        tokenUrl: sts.tokenUrl,
        tokenFile: newBuildFile,
        launcher: { socketPath: join(dir, "no-launcher.sock") },
      },
    });
    log(`  decrypted ${JSON.stringify(newBuild.decrypted)}, refused ${JSON.stringify(newBuild.refused)}`);
    log(`  word counts: ${newBuild.counts.map(([w, n]) => `${w}=${n}`).join(" ")}`);
    return { approved, newBuild, kmsCallsForUnknown };
  } finally {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runLocal();
}
