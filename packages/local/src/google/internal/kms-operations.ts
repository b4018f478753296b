import { crc32c } from "@confspace/core";
import type { LocalGooglePrincipal } from "../principals.js";
import { errorInfo, GoogleApiFailure } from "./google-api.js";
import { type IamPolicy, isPermitted } from "./iam-policy.js";
import { ciphertextVersion, open, seal } from "./kms-crypto.js";

/** Key material of one CryptoKey: versions by number, and the primary. */
export interface CryptoKeyState {
  versions: Map<number, Buffer>;
  primary: number;
}

/** What the router resolved for one call. */
export interface KmsCall {
  keyName: string;
  /** A CryptoKeyVersion named in the URL (encrypt only). */
  version: number | undefined;
  key: CryptoKeyState | undefined;
  policy: IamPolicy | undefined;
  /** Answer enums as numbers (`$alt=json;enum-encoding=int`, as the Node client asks). */
  intEnums: boolean;
}

/** Cloud KMS size limit of plaintext and AAD (bytes). */
const MAX_INPUT_BYTES = 64 * 1024;
/** Ciphertexts of 64 KiB inputs plus this server's overhead fit under this (bytes). */
const MAX_CIPHERTEXT_BYTES = MAX_INPUT_BYTES + 1024;
/** google.cloud.kms.v1.ProtectionLevel.SOFTWARE. */
const SOFTWARE = { name: "SOFTWARE", number: 1 } as const;

type Body = Record<string, unknown>;

function denied(call: KmsCall, permission: string): GoogleApiFailure {
  // Verbatim form; also the answer for a key that does not exist.
  return new GoogleApiFailure(
    "PERMISSION_DENIED",
    `Permission '${permission}' denied on resource '${call.keyName}' (or it may not exist).`,
    [errorInfo("IAM_PERMISSION_DENIED", "cloudkms.googleapis.com", { permission, resource: call.keyName })],
  );
}

/** Proto3 JSON `bytes`: standard or URL-safe base64, padding optional. */
function bytesField(body: Body, field: string): Buffer | GoogleApiFailure {
  const value = body[field];
  if (value === undefined || value === null) return Buffer.alloc(0);
  if (typeof value !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) {
    return new GoogleApiFailure(
      "INVALID_ARGUMENT",
      `Invalid value at '${snake(field)}' (TYPE_BYTES), Base64 decoding failed for "${String(value).slice(0, 40)}"`,
    );
  }
  return Buffer.from(value.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

/**
 * Proto3 JSON `google.protobuf.Int64Value` checksum: a decimal string or a number.
 * `undefined` when absent; a failure when malformed.
 */
function checksumField(body: Body, field: string): number | undefined | GoogleApiFailure {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  const text = typeof value === "number" ? String(value) : value;
  if (typeof text !== "string" || !/^\d{1,10}$/.test(text) || Number(text) > 0xffffffff) {
    return new GoogleApiFailure(
      "INVALID_ARGUMENT",
      `Invalid value at '${snake(field)}' (TYPE_INT64), "${String(value)}"`,
    );
  }
  return Number(text);
}

/** Verbatim: Cloud KMS's answer to a checksum that does not match its data. */
function checksumMismatch(checksumField: string, dataField: string): GoogleApiFailure {
  return new GoogleApiFailure(
    "INVALID_ARGUMENT",
    `The checksum in field ${snake(checksumField)} did not match the data in field ${snake(dataField)}.`,
  );
}

function snake(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/crc_32c/, "crc32c");
}

interface VerifiedInput {
  data: Buffer;
  verified: boolean;
}

function input(body: Body, dataField: string, checksumName: string): VerifiedInput | GoogleApiFailure {
  const data = bytesField(body, dataField);
  if (data instanceof GoogleApiFailure) return data;
  const checksum = checksumField(body, checksumName);
  if (checksum instanceof GoogleApiFailure) return checksum;
  if (checksum !== undefined && crc32c(data) !== checksum) return checksumMismatch(checksumName, dataField);
  return { data, verified: checksum !== undefined };
}

/** `POST /v1/{name}:encrypt` after authentication. */
export function encryptRequest(call: KmsCall, principal: LocalGooglePrincipal, body: Body): object | GoogleApiFailure {
  if (!isPermitted(call.policy, "cloudkms.cryptoKeyVersions.useToEncrypt", principal)) {
    return denied(call, "cloudkms.cryptoKeyVersions.useToEncrypt");
  }
  const key = call.key!;
  const version = call.version ?? key.primary;
  const material = key.versions.get(version);
  if (!material) {
    return new GoogleApiFailure("NOT_FOUND", `${call.keyName}/cryptoKeyVersions/${version} not found.`);
  }
  const plaintext = input(body, "plaintext", "plaintextCrc32c");
  if (plaintext instanceof GoogleApiFailure) return plaintext;
  const aad = input(body, "additionalAuthenticatedData", "additionalAuthenticatedDataCrc32c");
  if (aad instanceof GoogleApiFailure) return aad;
  if (plaintext.data.length === 0) return new GoogleApiFailure("INVALID_ARGUMENT", "Plaintext must not be empty.");
  if (plaintext.data.length > MAX_INPUT_BYTES) {
    return new GoogleApiFailure("INVALID_ARGUMENT", `Plaintext must be at most ${MAX_INPUT_BYTES} bytes.`);
  }
  if (aad.data.length > MAX_INPUT_BYTES) {
    return new GoogleApiFailure(
      "INVALID_ARGUMENT",
      `Additional authenticated data must be at most ${MAX_INPUT_BYTES} bytes.`,
    );
  }
  const ciphertext = seal(material, version, plaintext.data, aad.data);
  return {
    name: `${call.keyName}/cryptoKeyVersions/${version}`,
    ciphertext: ciphertext.toString("base64"),
    ciphertextCrc32c: String(crc32c(ciphertext)),
    ...(plaintext.verified && { verifiedPlaintextCrc32c: true }),
    ...(aad.verified && { verifiedAdditionalAuthenticatedDataCrc32c: true }),
    protectionLevel: call.intEnums ? SOFTWARE.number : SOFTWARE.name,
  };
}

/** `POST /v1/{name}:decrypt` after authentication. */
export function decryptRequest(call: KmsCall, principal: LocalGooglePrincipal, body: Body): object | GoogleApiFailure {
  if (!isPermitted(call.policy, "cloudkms.cryptoKeyVersions.useToDecrypt", principal)) {
    return denied(call, "cloudkms.cryptoKeyVersions.useToDecrypt");
  }
  const key = call.key!;
  const ciphertext = input(body, "ciphertext", "ciphertextCrc32c");
  if (ciphertext instanceof GoogleApiFailure) return ciphertext;
  const aad = input(body, "additionalAuthenticatedData", "additionalAuthenticatedDataCrc32c");
  if (aad instanceof GoogleApiFailure) return aad;
  if (ciphertext.data.length === 0) return new GoogleApiFailure("INVALID_ARGUMENT", "Ciphertext must not be empty.");
  if (ciphertext.data.length > MAX_CIPHERTEXT_BYTES) {
    return new GoogleApiFailure("INVALID_ARGUMENT", `Ciphertext must be at most ${MAX_CIPHERTEXT_BYTES} bytes.`);
  }
  const version = ciphertextVersion(ciphertext.data);
  const material = version === undefined ? undefined : key.versions.get(version);
  const plaintext = material && open(material, ciphertext.data, aad.data);
  if (!plaintext) {
    // Verbatim: wrong key, wrong AAD and damaged ciphertext all get this answer.
    return new GoogleApiFailure(
      "INVALID_ARGUMENT",
      "Decryption failed: verify that 'name' refers to the correct CryptoKey.",
    );
  }
  return {
    plaintext: plaintext.toString("base64"),
    plaintextCrc32c: String(crc32c(plaintext)),
    usedPrimary: version === key.primary,
    protectionLevel: call.intEnums ? SOFTWARE.number : SOFTWARE.name,
  };
}
