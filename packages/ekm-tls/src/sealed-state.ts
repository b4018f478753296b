// Envelope encryption of an application's own state with the key service: a fresh
// AES-256-GCM data key per seal, of which only the wrapped form (`vault:vN:…`) is stored
// beside the ciphertext. Whoever can unwrap with the named key — a workload whose
// certificate's grant lists it, i.e. the approved image, on any replica — opens it again
// after a restart; nobody else can, and the plaintext data key is zeroed after use.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { InvalidOptionError } from "@confspace/core";
import type { KeyServiceClient } from "./key-service-client.js";
import { SealedStateError } from "./key-service-error.js";

/** The `format` field of a sealed state, version 1. */
export const SEALED_STATE_FORMAT = "confspace-sealed-state-v1";

/** Options of {@link sealState} and {@link openState}. */
export interface SealedStateOptions {
  /** Bytes bound to the blob (e.g. the file name it is stored under): opening needs the same. Default none. */
  context?: string | Uint8Array;
  signal?: AbortSignal;
}

/** What {@link sealState} returns, as JSON: everything needed to open it again except the key service. */
interface SealedStateV1 {
  format: typeof SEALED_STATE_FORMAT;
  /** The key service key that wrapped the data key. */
  key: string;
  /** The data key, wrapped: `vault:v<N>:<base64>`. */
  wrapped_key: string;
  /** AES-256-GCM nonce (12 bytes), ciphertext and tag (16 bytes), base64. */
  iv: string;
  ciphertext: string;
  tag: string;
}

const FIELDS = ["format", "key", "wrapped_key", "iv", "ciphertext", "tag"] as const;

function additionalData(key: string, wrappedKey: string, context: SealedStateOptions["context"]): Buffer {
  const bytes = typeof context === "string" ? Buffer.from(context, "utf8") : Buffer.from(context ?? new Uint8Array());
  return Buffer.concat([Buffer.from(`${SEALED_STATE_FORMAT}\0${key}\0${wrappedKey}\0`, "utf8"), bytes]);
}

/**
 * Seals `plaintext` under key service key `keyName`: a new 256-bit data key from
 * `datakey/plaintext`, AES-256-GCM with the format, key name, wrapped key and `context` as
 * associated data. Returns a self-describing JSON text (`format`
 * `"confspace-sealed-state-v1"`) to store anywhere; it holds no usable key.
 *
 * @example
 * ```ts
 * const blob = await sealState(keys, "app-state", Buffer.from(JSON.stringify(state)));
 * await writeFile("/data/state.sealed", blob);
 * const state = JSON.parse((await openState(keys, "app-state", await readFile("/data/state.sealed"))).toString());
 * ```
 */
export async function sealState(
  client: KeyServiceClient,
  keyName: string,
  plaintext: Uint8Array,
  options: SealedStateOptions = {},
): Promise<string> {
  if (!(plaintext instanceof Uint8Array))
    throw new InvalidOptionError("plaintext", "plaintext must be bytes (a Uint8Array)");
  const dataKey = await client.dataKey(keyName, "plaintext", { bits: 256, signal: options.signal });
  try {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", dataKey.plaintext, iv);
    cipher.setAAD(additionalData(keyName, dataKey.ciphertext, options.context));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const sealed: SealedStateV1 = {
      format: SEALED_STATE_FORMAT,
      key: keyName,
      wrapped_key: dataKey.ciphertext,
      iv: iv.toString("base64"),
      ciphertext: ciphertext.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
    };
    return JSON.stringify(sealed);
  } finally {
    dataKey.plaintext.fill(0);
  }
}

/**
 * Opens a blob made by {@link sealState}: unwraps its data key with `decrypt` on key
 * `keyName` (the one it was sealed under) and decrypts. `SealedStateError` when the blob
 * is malformed, sealed under another key, or tampered (or `context` differs);
 * `KeyServiceError` when the service refuses the unwrap (another grant's key, a retired
 * key version).
 */
export async function openState(
  client: KeyServiceClient,
  keyName: string,
  blob: string | Uint8Array,
  options: SealedStateOptions = {},
): Promise<Buffer> {
  const sealed = parse(blob);
  if (sealed.key !== keyName) {
    throw new SealedStateError("key", `This state was sealed under key "${sealed.key}", not "${keyName}"`);
  }
  const iv = Buffer.from(sealed.iv, "base64");
  const tag = Buffer.from(sealed.tag, "base64");
  if (iv.length !== 12 || tag.length !== 16)
    throw new SealedStateError("format", "The sealed state's iv or tag has the wrong size");
  const dataKey = await client.decrypt(keyName, sealed.wrapped_key, { signal: options.signal });
  try {
    if (dataKey.length !== 32) throw new SealedStateError("integrity", "The unwrapped data key is not 256 bits");
    const decipher = createDecipheriv("aes-256-gcm", dataKey, iv);
    decipher.setAAD(additionalData(sealed.key, sealed.wrapped_key, options.context));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, "base64")), decipher.final()]);
    } catch (error) {
      throw new SealedStateError(
        "integrity",
        "The sealed state does not authenticate: it was changed, or opened with another context",
        { cause: error },
      );
    }
  } finally {
    dataKey.fill(0);
  }
}

function parse(blob: string | Uint8Array): SealedStateV1 {
  let value: unknown;
  try {
    value = JSON.parse(typeof blob === "string" ? blob : Buffer.from(blob).toString("utf8"));
  } catch {
    value = undefined;
  }
  const o = value as Record<string, unknown> | undefined;
  if (o === null || typeof o !== "object" || Array.isArray(o) || o.format !== SEALED_STATE_FORMAT) {
    throw new SealedStateError("format", `Not a sealed state of format ${SEALED_STATE_FORMAT}`);
  }
  const extra = Object.keys(o).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (extra.length > 0 || FIELDS.some((k) => typeof o[k] !== "string")) {
    throw new SealedStateError(
      "format",
      `A sealed state of format ${SEALED_STATE_FORMAT} has exactly the fields ${FIELDS.join(", ")}, all strings`,
    );
  }
  const key = o.key as string;
  if (
    !/^[A-Za-z0-9_.-]{1,128}$/.test(key) ||
    !/^vault:v[1-9][0-9]{0,9}:[A-Za-z0-9+/]+={0,2}$/.test(o.wrapped_key as string)
  ) {
    throw new SealedStateError("format", "The sealed state's key name or wrapped key is malformed");
  }
  return o as unknown as SealedStateV1;
}
