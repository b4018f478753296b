// `from: gcp-kms`: a Cloud KMS ciphertext, decrypted with the federated credential of the
// collaborator who owns the key (one FederatedAuthClient and one KMS client each, so one
// collaborator's token can never be used for another's key).
import { readFile } from "node:fs/promises";
import { crc32c } from "@confspace/core";
import { createFederatedAuthClient, type FederatedAuthClient, toGoogleApiError } from "@confspace/gcp-federation";
import { KeyManagementServiceClient } from "@google-cloud/kms";
import { child, fail, object, optionalString, type Plain, string, url } from "../internal/config-reader.js";
import type { ReferenceScheme } from "./reference-scheme.js";

/** One collaborator under `collaborators:`: the provider (and service account) its KMS key trusts. */
export interface CollaboratorConfig {
  /** The collaborator's workload identity provider, `//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X`. */
  audience: string;
  /** A service account of the collaborator's to impersonate. Default: none (the federated principal itself). */
  serviceAccount?: string;
  /** Audience of a custom attestation token, when the provider does not accept `https://sts.googleapis.com`. */
  tokenAudience?: string;
  /** STS endpoint. Default `https://sts.googleapis.com/v1/token`. */
  tokenUrl?: string;
  /** IAM Credentials endpoint (impersonation). Default `https://iamcredentials.googleapis.com`. */
  iamCredentialsEndpoint?: string;
  /** Cloud KMS endpoint, `https://cloudkms.googleapis.com` by default (REST transport). */
  kmsEndpoint?: string;
}

/** A parsed `gcp-kms` entry. */
export interface GcpKmsReference {
  collaborator: string;
  /** CryptoKey resource name, `projects/P/locations/L/keyRings/R/cryptoKeys/K`. */
  key: string;
  /** The ciphertext (from `ciphertext`, or read from `ciphertextFile` at start). */
  ciphertext: { base64: string } | { file: string };
  /** UTF-8 additional authenticated data the ciphertext was encrypted with. */
  additionalAuthenticatedData?: string;
}

const KEY_NAME = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function parseCollaborators(value: unknown, path: string): Map<string, CollaboratorConfig> {
  const map = object(value, path, Object.keys(value ?? {}));
  const result = new Map<string, CollaboratorConfig>();
  for (const [name, raw] of Object.entries(map)) {
    const p = child(path, name);
    const o = object(raw, p, [
      "audience",
      "serviceAccount",
      "tokenAudience",
      "tokenUrl",
      "iamCredentialsEndpoint",
      "kmsEndpoint",
    ]);
    const entry: CollaboratorConfig = {
      audience: string(
        o.audience,
        child(p, "audience"),
        /^\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/[^/]+\/providers\/[^/]+$/,
        "must be //iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER",
      ),
    };
    const sa = optionalString(
      o.serviceAccount,
      child(p, "serviceAccount"),
      /^[^@\s]+@[^@\s]+$/,
      "must be a service account email",
    );
    if (sa !== undefined) entry.serviceAccount = sa;
    const tokenAudience = optionalString(o.tokenAudience, child(p, "tokenAudience"));
    if (tokenAudience !== undefined) entry.tokenAudience = tokenAudience;
    for (const field of ["tokenUrl", "iamCredentialsEndpoint", "kmsEndpoint"] as const) {
      if (o[field] !== undefined) entry[field] = url(o[field], child(p, field));
    }
    result.set(name, entry);
  }
  return result;
}

interface Channel {
  auth: FederatedAuthClient;
  kms: KeyManagementServiceClient;
}

function kmsClientOptions(endpoint: string | undefined) {
  if (endpoint === undefined) return { fallback: true as const };
  const u = new URL(endpoint);
  return {
    fallback: true as const,
    apiEndpoint: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port === "" ? (u.protocol === "http:" ? 80 : 443) : Number(u.port),
    protocol: u.protocol === "http:" ? ("http" as const) : ("https" as const),
  };
}

/** The `gcp-kms` reference scheme. */
export const gcpKmsScheme: ReferenceScheme<Map<string, CollaboratorConfig>, GcpKmsReference> = {
  name: "gcp-kms",
  section: { key: "collaborators", parse: parseCollaborators },
  fields: ["collaborator", "key", "ciphertext", "ciphertextFile", "additionalAuthenticatedData"],
  parseReference(entry: Plain, path: string, collaborators) {
    const collaborator = string(entry.collaborator, child(path, "collaborator"));
    if (!collaborators?.has(collaborator)) {
      fail(child(path, "collaborator"), `"${collaborator}" is not listed under collaborators:`);
    }
    const key = string(
      entry.key,
      child(path, "key"),
      KEY_NAME,
      "must be projects/P/locations/L/keyRings/R/cryptoKeys/K",
    );
    if ((entry.ciphertext === undefined) === (entry.ciphertextFile === undefined)) {
      fail(path, "needs exactly one of ciphertext (base64) and ciphertextFile");
    }
    const ciphertext =
      entry.ciphertext !== undefined
        ? { base64: string(entry.ciphertext, child(path, "ciphertext"), BASE64, "must be base64") }
        : { file: string(entry.ciphertextFile, child(path, "ciphertextFile")) };
    const aad = optionalString(entry.additionalAuthenticatedData, child(path, "additionalAuthenticatedData"));
    return { collaborator, key, ciphertext, ...(aad !== undefined && { additionalAuthenticatedData: aad }) };
  },
  open(collaborators, { logger }) {
    const channels = new Map<string, Channel>();
    const channel = (name: string): Channel => {
      let found = channels.get(name);
      if (found === undefined) {
        const c = collaborators?.get(name) as CollaboratorConfig;
        const auth = createFederatedAuthClient({
          audience: c.audience,
          serviceAccount: c.serviceAccount,
          tokenAudience: c.tokenAudience,
          tokenUrl: c.tokenUrl,
          iamCredentialsEndpoint: c.iamCredentialsEndpoint,
          logger,
        });
        found = { auth, kms: new KeyManagementServiceClient({ ...kmsClientOptions(c.kmsEndpoint), authClient: auth }) };
        channels.set(name, found);
      }
      return found;
    };
    return {
      async resolve(reference) {
        const ciphertext =
          "base64" in reference.ciphertext
            ? Buffer.from(reference.ciphertext.base64, "base64")
            : Buffer.from((await readFile(reference.ciphertext.file, "utf8")).trim(), "base64");
        const { kms } = channel(reference.collaborator);
        const aad =
          reference.additionalAuthenticatedData === undefined
            ? undefined
            : Buffer.from(reference.additionalAuthenticatedData, "utf8");
        let plaintext: Buffer;
        let checksum: unknown;
        try {
          const [response] = await kms.decrypt({
            name: reference.key,
            ciphertext,
            ciphertextCrc32c: { value: crc32c(ciphertext) },
            ...(aad !== undefined && {
              additionalAuthenticatedData: aad,
              additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
            }),
          });
          plaintext = Buffer.from(response.plaintext as Uint8Array);
          checksum = response.plaintextCrc32c?.value;
        } catch (error) {
          throw toGoogleApiError(error) ?? error;
        }
        // End-to-end integrity, as Google recommends: what arrived is what KMS decrypted.
        if (checksum === undefined || checksum === null || Number(checksum) !== crc32c(plaintext)) {
          plaintext.fill(0);
          throw new Error(
            "the plaintext's CRC32C does not match Cloud KMS's plaintextCrc32c (corrupted in transit); start again",
          );
        }
        return plaintext;
      },
      async close() {
        await Promise.all(
          [...channels.values()].map(async ({ auth, kms }) => {
            await kms.close().catch(() => {});
            auth.dispose();
          }),
        );
      },
    };
  },
};
