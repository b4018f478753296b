// A transit secrets engine with real AES-GCM: keys (aes256-gcm96, aes128-gcm96) with
// versions and rotation, encrypt (upserting a missing key), decrypt, rewrap and wrapped or
// plaintext data keys. Ciphertexts are `vault:v{N}:` + base64(nonce ‖ ciphertext ‖ tag), as
// keysutil writes them; error texts are keysutil's and path_*.go's.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { asInt, asString, type RequestValue } from "./fields.js";
import type { Operation } from "./kv2.js";
import { badRequest, type HandlerResult } from "./responses.js";

interface TransitKey {
  type: "aes256-gcm96" | "aes128-gcm96";
  /** Key material by version (1-based). */
  versions: Map<number, { key: Buffer; createdAt: number }>;
  latestVersion: number;
  minDecryptionVersion: number;
  minEncryptionVersion: number;
  deletionAllowed: boolean;
}

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(text: string, what: string): Buffer {
  if (!STRICT_BASE64.test(text)) throw badRequest(`failed to base64-decode ${what}`);
  return Buffer.from(text, "base64");
}

export class TransitEngine {
  readonly #keys = new Map<string, TransitKey>();

  constructor(private readonly now: () => number) {}

  /** Creates (or keeps) a key; used by `POST keys/:name` and by encrypt's upsert. */
  createKey(name: string, type: TransitKey["type"] = "aes256-gcm96"): void {
    if (this.#keys.has(name)) return;
    const key: TransitKey = {
      type,
      versions: new Map(),
      latestVersion: 0,
      minDecryptionVersion: 1,
      minEncryptionVersion: 0,
      deletionAllowed: false,
    };
    this.#keys.set(name, key);
    this.#rotate(key);
  }

  route(
    method: string,
    subpath: string,
    _query: URLSearchParams,
    body: Record<string, RequestValue>,
  ): Operation | undefined {
    const parts = subpath.split("/");
    const [section, name = "", extra] = parts;
    const post = method === "POST" || method === "PUT";
    if (section === "keys" && parts.length === 2 && method === "GET") {
      return { capability: "read", read: true, run: () => this.#read(name) };
    }
    if (section === "keys" && parts.length === 2 && post) {
      return {
        capability: this.#keys.has(name) ? "update" : "create",
        run: () => {
          const type = body.type === undefined ? "aes256-gcm96" : asString("type", body.type);
          if (type !== "aes256-gcm96" && type !== "aes128-gcm96") throw badRequest(`unknown key type: ${type}`);
          this.createKey(name, type);
          return this.#read(name);
        },
      };
    }
    if (section === "keys" && extra === "rotate" && post) {
      return { capability: "update", run: () => this.#rotate(this.#key(name)) ?? this.#read(name) };
    }
    if (section === "keys" && extra === "config" && post) {
      return {
        capability: "update",
        run: () => {
          const key = this.#key(name);
          if (body.min_decryption_version !== undefined) {
            key.minDecryptionVersion = asInt("min_decryption_version", body.min_decryption_version);
          }
          if (body.deletion_allowed !== undefined) key.deletionAllowed = body.deletion_allowed === true;
          return this.#read(name);
        },
      };
    }
    if (!post || parts.length !== 2) {
      if (section === "datakey" && post && parts.length === 3) {
        return { capability: "update", run: () => this.#dataKey(parts[1]!, parts[2]!, body) };
      }
      return undefined;
    }
    switch (section) {
      case "encrypt":
        // Encrypting to a missing key creates it, which the ACL sees as "create".
        return { capability: this.#keys.has(name) ? "update" : "create", run: () => this.#encrypt(name, body) };
      case "decrypt":
        return { capability: "update", run: () => this.#decrypt(name, body) };
      case "rewrap":
        return { capability: "update", run: () => this.#rewrap(name, body) };
      default:
        return undefined;
    }
  }

  #key(name: string): TransitKey {
    const key = this.#keys.get(name);
    if (key === undefined) throw badRequest("encryption key not found");
    return key;
  }

  #rotate(key: TransitKey): undefined {
    key.latestVersion += 1;
    const bytes = key.type === "aes128-gcm96" ? 16 : 32;
    key.versions.set(key.latestVersion, { key: randomBytes(bytes), createdAt: this.now() });
    return undefined;
  }

  #read(name: string): HandlerResult | undefined {
    const key = this.#keys.get(name);
    if (key === undefined) return undefined;
    const keys: Record<string, number> = {};
    for (const [version, material] of key.versions) keys[String(version)] = Math.floor(material.createdAt / 1000);
    return {
      data: {
        name,
        type: key.type,
        latest_version: key.latestVersion,
        min_decryption_version: key.minDecryptionVersion,
        min_encryption_version: key.minEncryptionVersion,
        deletion_allowed: key.deletionAllowed,
        derived: false,
        exportable: false,
        allow_plaintext_backup: false,
        supports_encryption: true,
        supports_decryption: true,
        supports_derivation: true,
        supports_signing: false,
        keys,
      },
    };
  }

  #seal(key: TransitKey, version: number, plaintext: Buffer, aad: Buffer): string {
    const material = key.versions.get(version)!.key;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv(material.length === 16 ? "aes-128-gcm" : "aes-256-gcm", material, nonce);
    if (aad.length > 0) cipher.setAAD(aad);
    const sealed = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return `vault:v${version}:${sealed.toString("base64")}`;
  }

  #open(key: TransitKey, value: string, aad: Buffer): Buffer {
    if (!value.startsWith("vault:v")) throw badRequest("invalid ciphertext: no prefix");
    const rest = value.slice("vault:v".length);
    const colon = rest.indexOf(":");
    if (colon < 0) throw badRequest("invalid ciphertext: wrong number of fields");
    if (!/^\d+$/.test(rest.slice(0, colon)))
      throw badRequest("invalid ciphertext: version number could not be decoded");
    const version = Number(rest.slice(0, colon)) || 1;
    if (version > key.latestVersion) throw badRequest("invalid ciphertext: version is too new");
    if (key.minDecryptionVersion > 0 && version < key.minDecryptionVersion) {
      throw badRequest("ciphertext or signature version is disallowed by policy (too old)");
    }
    const payload = rest.slice(colon + 1);
    if (!STRICT_BASE64.test(payload)) throw badRequest("invalid ciphertext: could not decode base64");
    const decoded = Buffer.from(payload, "base64");
    if (decoded.length < NONCE_BYTES) throw badRequest("invalid ciphertext length");
    const material = key.versions.get(version)!.key;
    try {
      const decipher = createDecipheriv(
        material.length === 16 ? "aes-128-gcm" : "aes-256-gcm",
        material,
        decoded.subarray(0, NONCE_BYTES),
      );
      if (aad.length > 0) decipher.setAAD(aad);
      decipher.setAuthTag(decoded.subarray(decoded.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(decoded.subarray(NONCE_BYTES, decoded.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw badRequest("cipher: message authentication failed");
    }
  }

  #aad(body: Record<string, RequestValue>): Buffer {
    return body.associated_data === undefined
      ? Buffer.alloc(0)
      : decodeBase64(asString("associated_data", body.associated_data), "associated data");
  }

  #version(key: TransitKey, body: Record<string, RequestValue>): number {
    const requested = body.key_version === undefined ? 0 : asInt("key_version", body.key_version);
    if (requested > key.latestVersion)
      throw badRequest("requested version for encryption is higher than the latest key version");
    if (requested > 0 && requested < key.minEncryptionVersion) {
      throw badRequest("requested version for encryption is less than the minimum encryption key version");
    }
    return requested > 0 ? requested : key.latestVersion;
  }

  #encrypt(name: string, body: Record<string, RequestValue>): HandlerResult {
    if (body.plaintext === undefined) throw badRequest("missing plaintext to encrypt");
    const plaintext = decodeBase64(asString("plaintext", body.plaintext), "plaintext");
    const aad = this.#aad(body);
    this.createKey(name);
    const key = this.#key(name);
    const version = this.#version(key, body);
    return { data: { ciphertext: this.#seal(key, version, plaintext, aad), key_version: version } };
  }

  #decrypt(name: string, body: Record<string, RequestValue>): HandlerResult {
    const ciphertext = body.ciphertext === undefined ? "" : asString("ciphertext", body.ciphertext);
    if (ciphertext === "") throw badRequest("missing ciphertext to decrypt");
    const key = this.#key(name);
    return { data: { plaintext: this.#open(key, ciphertext, this.#aad(body)).toString("base64") } };
  }

  #rewrap(name: string, body: Record<string, RequestValue>): HandlerResult {
    const ciphertext = body.ciphertext === undefined ? "" : asString("ciphertext", body.ciphertext);
    if (ciphertext === "") throw badRequest("missing ciphertext to decrypt");
    const key = this.#key(name);
    const aad = this.#aad(body);
    const plaintext = this.#open(key, ciphertext, aad);
    const version = this.#version(key, body);
    return { data: { ciphertext: this.#seal(key, version, plaintext, aad), key_version: version } };
  }

  #dataKey(kind: string, name: string, body: Record<string, RequestValue>): HandlerResult {
    if (kind !== "plaintext" && kind !== "wrapped") throw badRequest(`invalid type ${kind}`);
    const bits = body.bits === undefined ? 256 : asInt("bits", body.bits);
    if (![128, 256, 512].includes(bits)) throw badRequest("invalid bits value");
    const key = this.#key(name);
    const material = randomBytes(bits / 8);
    const version = key.latestVersion;
    const data: Record<string, unknown> = {
      ciphertext: this.#seal(key, version, material, Buffer.alloc(0)),
      key_version: version,
    };
    if (kind === "plaintext") data.plaintext = material.toString("base64");
    return { data };
  }
}
