// Reads the key service's root secrets: from a file or an environment variable (base64),
// or a Cloud KMS-wrapped root (decrypted at start). Fails closed on anything weak.
import { timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { BrokerConfigError } from "../errors.js";
import type { KeyServiceRootConfig } from "./config.js";
import { decryptKmsRoot } from "./kms-root.js";

/** Shortest root accepted, bytes (an AES-256 key's worth of entropy at least). */
export const MIN_ROOT_BYTES = 32;
/** Longest root accepted, bytes. */
const MAX_ROOT_BYTES = 1024;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Options of {@link loadRoots}. */
export interface LoadRootsOptions {
  /** Path of the `roots` list in the configuration, e.g. `keyService.roots`. */
  path: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Time allowed for each Cloud KMS call, ms. */
  kmsTimeoutMs: number;
}

/**
 * Reads every root, by version. A root must decode to 32–1024 bytes, must not be one byte
 * repeated, and must differ from every other version's root (a rotation that reuses the
 * old secret rotates nothing). Messages name the field, never the secret.
 *
 * @throws {BrokerConfigError} a root is unreadable, not base64, too short, or weak.
 * @throws {ConfspaceError} `ERR_KEY_SERVICE_KMS`: Cloud KMS refused a wrapped root.
 */
export async function loadRoots(
  roots: readonly KeyServiceRootConfig[],
  options: LoadRootsOptions,
): Promise<Map<number, Buffer>> {
  const loaded = new Map<number, Buffer>();
  // All settled, so that a failure zeroes the roots already read and names the first bad
  // root in order rather than whichever failed first.
  const reads = await Promise.allSettled(
    roots.map((root, index) => loadRoot(root, `${options.path}[${index}]`, options)),
  );
  const failed = reads.find((read) => read.status === "rejected");
  if (failed !== undefined) {
    for (const read of reads) if (read.status === "fulfilled") read.value.fill(0);
    throw failed.reason;
  }
  const secrets = reads.map((read) => (read as PromiseFulfilledResult<Buffer>).value);
  try {
    secrets.forEach((secret, index) => {
      const path = `${options.path}[${index}]`;
      for (let earlier = 0; earlier < index; earlier++) {
        const other = secrets[earlier]!;
        if (other.length === secret.length && timingSafeEqual(other, secret)) {
          throw new BrokerConfigError(
            `is the same secret as ${options.path}[${earlier}]; a new version needs a new root`,
            {
              field: path,
            },
          );
        }
      }
      loaded.set(roots[index]!.version, secret);
    });
    return loaded;
  } catch (error) {
    for (const secret of secrets) secret.fill(0);
    throw error;
  }
}

async function loadRoot(root: KeyServiceRootConfig, path: string, options: LoadRootsOptions): Promise<Buffer> {
  let secret: Buffer;
  if ("file" in root) {
    let text: string;
    try {
      text = await readFile(root.file, "utf8");
    } catch (error) {
      throw new BrokerConfigError("the root file cannot be read", { field: `${path}.file`, cause: error });
    }
    path = `${path}.file`;
    secret = decodeBase64(text, path, "the root file");
  } else if ("env" in root) {
    const text = options.env[root.env];
    if (text === undefined || text === "") {
      throw new BrokerConfigError(`the environment variable ${root.env} is not set`, { field: `${path}.env` });
    }
    path = `${path}.env`;
    secret = decodeBase64(text, path, `the environment variable ${root.env}`);
  } else {
    const wrapped = root.kmsWrapped;
    const kmsPath = `${path}.kmsWrapped`;
    let ciphertext: Buffer;
    if (wrapped.ciphertext !== undefined) ciphertext = Buffer.from(wrapped.ciphertext, "base64");
    else {
      let text: string;
      try {
        text = await readFile(wrapped.ciphertextFile as string, "utf8");
      } catch (error) {
        throw new BrokerConfigError("the ciphertext file cannot be read", {
          field: `${kmsPath}.ciphertextFile`,
          cause: error,
        });
      }
      const trimmed = text.trim();
      if (!BASE64.test(trimmed)) {
        throw new BrokerConfigError("the ciphertext file must hold base64", { field: `${kmsPath}.ciphertextFile` });
      }
      ciphertext = Buffer.from(trimmed, "base64");
    }
    secret = await decryptKmsRoot(wrapped, {
      path: kmsPath,
      env: options.env,
      timeoutMs: options.kmsTimeoutMs,
      ciphertext,
    });
    path = kmsPath;
  }
  checkStrength(secret, path);
  return secret;
}

function decodeBase64(text: string, field: string, what: string): Buffer {
  const trimmed = text.trim();
  if (!BASE64.test(trimmed) || trimmed.length % 4 !== 0) {
    throw new BrokerConfigError(`${what} must hold the root as base64 (e.g. openssl rand -base64 32)`, { field });
  }
  return Buffer.from(trimmed, "base64");
}

function checkStrength(secret: Buffer, field: string): void {
  const problem =
    secret.length < MIN_ROOT_BYTES
      ? `is ${secret.length} bytes; a root needs at least ${MIN_ROOT_BYTES} random bytes (openssl rand -base64 32)`
      : secret.length > MAX_ROOT_BYTES
        ? `is longer than ${MAX_ROOT_BYTES} bytes`
        : secret.every((byte) => byte === secret[0])
          ? "is one byte repeated, not a random secret"
          : undefined;
  if (problem !== undefined) {
    secret.fill(0);
    throw new BrokerConfigError(`the root ${problem}`, { field });
  }
}
