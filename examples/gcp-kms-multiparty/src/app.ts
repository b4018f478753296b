// The workload: decrypts each collaborator's messages with that collaborator's own
// federated credential and KMS key, and counts words across all of them. Runs unchanged in
// Confidential Space (main.ts) and against the emulator and local Google endpoints (local.ts).
import { crc32c } from "@confspace/core";
import {
  createFederatedAuthClient,
  type FederatedAuthClient,
  type FederatedAuthClientOptions,
  toGoogleApiError,
} from "@confspace/gcp-federation";
import { KeyManagementServiceClient } from "@google-cloud/kms";
import type { Collaborator } from "./collaborators.js";

/** A message as it arrives (from Pub/Sub, a bucket, a file): who sent it and its KMS ciphertext. */
export interface EncryptedMessage {
  collaborator: string;
  /** Base64 ciphertext from `kms.encrypt` with the collaborator's key and {@link MESSAGE_AAD}. */
  ciphertext: string;
}

/** Additional authenticated data every message is encrypted with: it ties a ciphertext to this app. */
export const MESSAGE_AAD = Buffer.from("confspace-wordcount/v1");

export interface WordCountOptions {
  /** The fixed collaborator list; messages naming anyone else are refused without a KMS call. */
  collaborators: readonly Collaborator[];
  /** Shared federation settings (endpoints, token file, launcher); each collaborator still gets its own client. */
  federation?: Omit<
    FederatedAuthClientOptions,
    "audience" | "projectNumber" | "poolId" | "providerId" | "serviceAccount"
  >;
  /** Extra `KeyManagementServiceClient` options (`apiEndpoint`, `port`, `protocol` for a local endpoint). REST transport is always used. */
  kms?: { apiEndpoint?: string; port?: number; protocol?: "http" | "https" };
  log?: (line: string) => void;
}

export interface WordCountResult {
  /** Words and their counts over every decrypted message, most frequent first. */
  counts: Array<[word: string, count: number]>;
  /** Messages decrypted, per collaborator. */
  decrypted: Record<string, number>;
  /** Messages not counted: unknown collaborator, or a refusal from STS or KMS (Google's reason kept). */
  refused: Array<{ collaborator: string; reason: string }>;
}

interface Channel {
  auth: FederatedAuthClient;
  kms: KeyManagementServiceClient;
  collaborator: Collaborator;
}

/** One federated client and one KMS client per collaborator: nothing shared that could carry one's token to the other. */
export function openChannels(options: WordCountOptions): Map<string, Channel> {
  const channels = new Map<string, Channel>();
  for (const collaborator of options.collaborators) {
    const auth = createFederatedAuthClient({
      ...options.federation,
      audience: collaborator.audience,
      serviceAccount: collaborator.serviceAccount,
    });
    const kms = new KeyManagementServiceClient({ fallback: true, ...options.kms, authClient: auth });
    channels.set(collaborator.name, { auth, kms, collaborator });
  }
  return channels;
}

export async function countWords(
  messages: readonly EncryptedMessage[],
  options: WordCountOptions,
): Promise<WordCountResult> {
  const log = options.log ?? (() => {});
  const channels = openChannels(options);
  const counts = new Map<string, number>();
  const decrypted: Record<string, number> = Object.fromEntries(options.collaborators.map((c) => [c.name, 0]));
  const refused: WordCountResult["refused"] = [];
  try {
    for (const message of messages) {
      const channel = channels.get(message.collaborator);
      if (!channel) {
        log(`refused a message from "${message.collaborator}": not one of the configured collaborators`);
        refused.push({ collaborator: message.collaborator, reason: "UNKNOWN_COLLABORATOR" });
        continue;
      }
      const text = await decrypt(channel, message.ciphertext).catch((error: unknown) => {
        const typed = toGoogleApiError(error);
        if (!typed) throw error;
        log(`could not decrypt a message from ${message.collaborator}: ${typed.reason} (${typed.code})`);
        refused.push({ collaborator: message.collaborator, reason: typed.reason });
        return undefined;
      });
      if (text === undefined) continue;
      decrypted[message.collaborator]! += 1;
      for (const word of text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [])
        counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  } finally {
    await Promise.all(
      [...channels.values()].map(async (channel) => {
        await channel.kms.close();
        channel.auth.dispose();
      }),
    );
  }
  return {
    counts: [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
    decrypted,
    refused,
  };
}

async function decrypt(channel: Channel, ciphertextBase64: string): Promise<string> {
  const ciphertext = Buffer.from(ciphertextBase64, "base64");
  const [response] = await channel.kms.decrypt({
    name: channel.collaborator.keyName,
    ciphertext,
    ciphertextCrc32c: { value: crc32c(ciphertext) },
    additionalAuthenticatedData: MESSAGE_AAD,
    additionalAuthenticatedDataCrc32c: { value: crc32c(MESSAGE_AAD) },
  });
  const plaintext = Buffer.from(response.plaintext as Uint8Array);
  // End-to-end integrity, as Google recommends: what arrived is what KMS decrypted.
  if (Number(response.plaintextCrc32c?.value) !== crc32c(plaintext)) {
    throw new Error(`plaintext checksum mismatch for a message from ${channel.collaborator.name}; retry the message`);
  }
  return plaintext.toString("utf8");
}
