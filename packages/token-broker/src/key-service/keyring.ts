// The key service's keys: one AES-256-GCM key per (grant, key name, version), derived with
// HKDF-SHA256 from the root of that version, and the OpenBao transit ciphertext format
// `vault:v{N}:{base64(nonce[12] || ciphertext || tag[16])}` (transit's aes256-gcm96).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import type { KeyServiceKeyConfig } from "./config.js";

/** HKDF salt of every derived key (domain separation from any other use of the roots). */
export const DERIVATION_SALT = "confspace-key-service";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const CIPHERTEXT = /^vault:v([1-9][0-9]{0,9}):([A-Za-z0-9+/]*={0,2})$/;

/**
 * The HKDF `info` of one key: `aes-256-gcm96 NUL grant NUL key NUL version` (decimal),
 * UTF-8. Names cannot hold NUL (config patterns), so the encoding is unambiguous.
 */
export function derivationInfo(grant: string, key: string, version: number): Buffer {
  return Buffer.from(`aes-256-gcm96\0${grant}\0${key}\0${version}`, "utf8");
}

/** Derives the 32-byte key of (grant, key, version) from that version's root. */
export function deriveKey(root: Uint8Array, grant: string, key: string, version: number): Buffer {
  return Buffer.from(
    hkdfSync("sha256", root, Buffer.from(DERIVATION_SALT, "utf8"), derivationInfo(grant, key, version), 32),
  );
}

/** Why an operation was refused; `message` is safe to send (no key material, no plaintext). */
export class KeyringError extends Error {
  constructor(
    readonly reason: "invalid_ciphertext" | "unknown_version" | "retired_version" | "decryption_failed",
    message: string,
  ) {
    super(message);
  }
}

/**
 * Splits a `vault:v{N}:{base64}` ciphertext into its version and payload.
 *
 * @throws {KeyringError} `invalid_ciphertext`: not that format, not canonical base64, or too short.
 */
export function parseCiphertext(ciphertext: string): { version: number; payload: Buffer } {
  const match = CIPHERTEXT.exec(ciphertext);
  if (match === null) {
    throw new KeyringError("invalid_ciphertext", 'invalid ciphertext: expected "vault:v<version>:<base64>"');
  }
  const payload = Buffer.from(match[2]!, "base64");
  if (payload.toString("base64") !== match[2]) {
    throw new KeyringError("invalid_ciphertext", "invalid ciphertext: the payload is not canonical base64");
  }
  if (payload.length < NONCE_BYTES + TAG_BYTES)
    throw new KeyringError("invalid_ciphertext", "invalid ciphertext: too short");
  return { version: Number(match[1]), payload };
}

/** Transit's aes256-gcm96 encryption with a 32-byte `key`: `vault:v{version}:base64(nonce ‖ ciphertext ‖ tag)`. */
export function sealAes256Gcm96(key: Uint8Array, version: number, plaintext: Uint8Array): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  const payload = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `vault:v${version}:${payload.toString("base64")}`;
}

/**
 * Opens the payload of {@link parseCiphertext} with a 32-byte `key`.
 *
 * @throws {KeyringError} `decryption_failed`: the tag does not verify (tampered, or another key).
 */
export function openAes256Gcm96(key: Uint8Array, payload: Buffer): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", key, payload.subarray(0, NONCE_BYTES), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAuthTag(payload.subarray(payload.length - TAG_BYTES));
  const plaintext = decipher.update(payload.subarray(NONCE_BYTES, payload.length - TAG_BYTES));
  try {
    return Buffer.concat([plaintext, decipher.final()]);
  } catch {
    plaintext.fill(0);
    throw new KeyringError(
      "decryption_failed",
      "invalid ciphertext: message authentication failed (tampered, or encrypted with another key)",
    );
  }
}

/** Result of {@link Keyring.encrypt}. */
export interface Encrypted {
  /** `vault:v{N}:…`. */
  ciphertext: string;
  version: number;
}

/**
 * Every key of the service. Holds the roots (not copies); {@link dispose} zeroes them and
 * every derived key.
 */
export class Keyring {
  readonly latestVersion: number;
  readonly #roots: Map<number, Buffer>;
  readonly #keys: Readonly<Record<string, KeyServiceKeyConfig>>;
  readonly #derived = new Map<string, Buffer>();
  readonly #oldest: number;

  constructor(roots: Map<number, Buffer>, keys: Readonly<Record<string, KeyServiceKeyConfig>> = {}) {
    if (roots.size === 0) throw new Error("a keyring needs at least one root");
    this.#roots = roots;
    this.#keys = keys;
    this.latestVersion = Math.max(...roots.keys());
    this.#oldest = Math.min(...roots.keys());
  }

  /** Oldest version of `key` that still decrypts. */
  minDecryptionVersion(key: string): number {
    return Math.max(this.#keys[key]?.minDecryptionVersion ?? 1, this.#oldest);
  }

  /** Versions of `key` that decrypt, oldest first. */
  versions(key: string): number[] {
    const min = this.minDecryptionVersion(key);
    return [...this.#roots.keys()].filter((version) => version >= min).sort((a, b) => a - b);
  }

  /** Encrypts with the newest version (or `version`, which must still decrypt). */
  encrypt(grant: string, key: string, plaintext: Uint8Array, version = this.latestVersion): Encrypted {
    this.#checkVersion(key, version);
    return { ciphertext: sealAes256Gcm96(this.#key(grant, key, version), version, plaintext), version };
  }

  /** Decrypts a `vault:vN:` ciphertext of (grant, key). */
  decrypt(grant: string, key: string, ciphertext: string): Buffer {
    const { version, payload } = parseCiphertext(ciphertext);
    this.#checkVersion(key, version);
    return openAes256Gcm96(this.#key(grant, key, version), payload);
  }

  /** Zeroes every root and derived key; the keyring is unusable afterwards. */
  dispose(): void {
    for (const key of this.#derived.values()) key.fill(0);
    this.#derived.clear();
    for (const root of this.#roots.values()) root.fill(0);
    this.#roots.clear();
  }

  #checkVersion(key: string, version: number): void {
    if (!this.#roots.has(version)) {
      throw new KeyringError(
        "unknown_version",
        `invalid key version: ${version} does not exist (newest is ${this.latestVersion})`,
      );
    }
    if (version < this.minDecryptionVersion(key)) {
      throw new KeyringError(
        "retired_version",
        `ciphertext or key version ${version} is disallowed by policy (too old; min_decryption_version is ${this.minDecryptionVersion(key)})`,
      );
    }
  }

  #key(grant: string, key: string, version: number): Buffer {
    const id = `${grant}\0${key}\0${version}`;
    let derived = this.#derived.get(id);
    if (derived === undefined) {
      derived = deriveKey(this.#roots.get(version) as Buffer, grant, key, version);
      this.#derived.set(id, derived);
    }
    return derived;
  }
}
