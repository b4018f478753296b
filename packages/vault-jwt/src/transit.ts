import { VaultResponseError } from "./errors.js";
import type { VaultJwtClient } from "./vault-jwt-client.js";

/** Options of transit encrypt/decrypt/rewrap. */
export interface TransitCallOptions {
  /** Additional authenticated data (AES-GCM keys); must be the same for decrypt. */
  associatedData?: string | Uint8Array;
  /** Derivation context for derived keys. */
  context?: string | Uint8Array;
  signal?: AbortSignal;
}

/** A data key from `datakey/{plaintext|wrapped}`. */
export interface TransitDataKey {
  /** The key wrapped by the transit key, `vault:vN:…`: store this. */
  ciphertext: string;
  keyVersion: number;
  /** The key itself (only when asked for): use it, never store it. */
  plaintext?: Buffer;
}

const b64 = (value: string | Uint8Array) =>
  Buffer.from(typeof value === "string" ? Buffer.from(value, "utf8") : value).toString("base64");

/** Transit on one mount, through the authenticated client. Base64 is handled here: pass and get bytes. */
export class Transit {
  constructor(
    private readonly client: VaultJwtClient,
    /** The transit mount path. */
    readonly mount: string,
  ) {}

  /** Encrypts `plaintext` (UTF-8 string or bytes) with `key`; returns `vault:vN:…`. */
  async encrypt(
    key: string,
    plaintext: string | Uint8Array,
    options: TransitCallOptions & { keyVersion?: number } = {},
  ): Promise<string> {
    const data = await this.#call(
      `encrypt/${key}`,
      {
        plaintext: b64(plaintext),
        ...this.#extras(options),
        ...(options.keyVersion === undefined ? {} : { key_version: options.keyVersion }),
      },
      options.signal,
    );
    return this.#ciphertext(data, `encrypt/${key}`);
  }

  /** Decrypts a `vault:vN:…` ciphertext; returns the bytes (call `.toString("utf8")` for text). */
  async decrypt(key: string, ciphertext: string, options: TransitCallOptions = {}): Promise<Buffer> {
    const data = await this.#call(`decrypt/${key}`, { ciphertext, ...this.#extras(options) }, options.signal);
    if (typeof data.plaintext !== "string") this.#incomplete(`decrypt/${key}`);
    return Buffer.from(data.plaintext as string, "base64");
  }

  /** Re-encrypts a ciphertext with the key's latest (or `keyVersion`) version without revealing it. */
  async rewrap(
    key: string,
    ciphertext: string,
    options: TransitCallOptions & { keyVersion?: number } = {},
  ): Promise<string> {
    const data = await this.#call(
      `rewrap/${key}`,
      {
        ciphertext,
        ...this.#extras(options),
        ...(options.keyVersion === undefined ? {} : { key_version: options.keyVersion }),
      },
      options.signal,
    );
    return this.#ciphertext(data, `rewrap/${key}`);
  }

  /** A new random data key wrapped by `key`; with `plaintext: true` also the key itself. */
  async generateDataKey(
    key: string,
    options: { bits?: 128 | 256 | 512; plaintext?: boolean; signal?: AbortSignal } = {},
  ): Promise<TransitDataKey> {
    const kind = options.plaintext === true ? "plaintext" : "wrapped";
    const data = await this.#call(`datakey/${kind}/${key}`, { bits: options.bits ?? 256 }, options.signal);
    const ciphertext = this.#ciphertext(data, `datakey/${kind}/${key}`);
    return {
      ciphertext,
      keyVersion: Number(data.key_version ?? 0),
      ...(typeof data.plaintext === "string" ? { plaintext: Buffer.from(data.plaintext, "base64") } : {}),
    };
  }

  #extras(options: TransitCallOptions): Record<string, string> {
    return {
      ...(options.associatedData === undefined ? {} : { associated_data: b64(options.associatedData) }),
      ...(options.context === undefined ? {} : { context: b64(options.context) }),
    };
  }

  async #call(
    path: string,
    body: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<Record<string, unknown>> {
    const response = await this.client.request({ method: "POST", path: `${this.mount}/${path}`, body, signal });
    const data = response.body?.data;
    if (typeof data !== "object" || data === null) this.#incomplete(path);
    return data as Record<string, unknown>;
  }

  #ciphertext(data: Record<string, unknown>, path: string): string {
    if (typeof data.ciphertext !== "string") this.#incomplete(path);
    return data.ciphertext as string;
  }

  #incomplete(path: string): never {
    throw new VaultResponseError(`Vault's transit answer for ${this.mount}/${path} is incomplete.`, {
      status: 200,
      method: "POST",
      path: `${this.mount}/${path}`,
    });
  }
}
