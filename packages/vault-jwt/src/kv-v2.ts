import { VaultResponseError } from "./errors.js";
import type { VaultJwtClient, VaultResponse } from "./vault-jwt-client.js";

/** Metadata of one version of a KV v2 secret. */
export interface KvVersionMetadata {
  version: number;
  createdTime: Date;
  /** When the version was (or will be) soft-deleted; `undefined` if never. */
  deletionTime: Date | undefined;
  destroyed: boolean;
  customMetadata: Record<string, string> | null;
}

/**
 * A KV v2 secret version. `data` is `null` when the version was deleted (Vault answers 404
 * with the version's metadata, `deletionTime` set) or destroyed; check `metadata`.
 */
export interface KvSecret<T> {
  data: T | null;
  metadata: KvVersionMetadata;
}

/** Metadata of a whole KV v2 secret (`metadata/` endpoint). */
export interface KvSecretMetadata {
  currentVersion: number;
  oldestVersion: number;
  createdTime: Date;
  updatedTime: Date;
  maxVersions: number;
  casRequired: boolean;
  customMetadata: Record<string, string> | null;
  versions: Record<string, { createdTime: Date; deletionTime: Date | undefined; destroyed: boolean }>;
}

/** Per-call options of KV v2 helpers. */
export interface KvCallOptions {
  signal?: AbortSignal;
}

const time = (value: unknown): Date | undefined =>
  typeof value === "string" && value !== "" ? new Date(value) : undefined;

function versionMetadata(raw: unknown, path: string): KvVersionMetadata {
  const m = raw as Record<string, unknown> | undefined;
  if (m === undefined || m === null || typeof m.version !== "number") {
    throw new VaultResponseError(`Vault's KV answer for ${path} has no version metadata.`, {
      status: 200,
      method: "GET",
      path,
    });
  }
  return {
    version: m.version,
    createdTime: time(m.created_time) ?? new Date(0),
    deletionTime: time(m.deletion_time),
    destroyed: m.destroyed === true,
    customMetadata: (m.custom_metadata as Record<string, string> | null | undefined) ?? null,
  };
}

/**
 * KV version 2 on one mount, through the authenticated client: paths are relative to the
 * mount (`app/config`, not `secret/data/app/config`).
 */
export class KvV2 {
  constructor(
    private readonly client: VaultJwtClient,
    /** The KV v2 mount path. */
    readonly mount: string,
  ) {}

  /**
   * Reads the latest version, or `version`. `undefined` when the secret or that version does
   * not exist; `data: null` with `metadata.deletionTime`/`destroyed` when it was deleted.
   */
  async read<T = Record<string, unknown>>(
    path: string,
    options: KvCallOptions & { version?: number } = {},
  ): Promise<KvSecret<T> | undefined> {
    const full = `${this.mount}/data/${path}`;
    const response = await this.client.request({
      method: "GET",
      path: full,
      query: options.version === undefined ? undefined : { version: String(options.version) },
      accept: [404],
      signal: options.signal,
    });
    const data = response.body?.data as { data?: unknown; metadata?: unknown } | null | undefined;
    if (response.status === 404 && (data === undefined || data === null || data.metadata === undefined))
      return undefined;
    if (data === undefined || data === null) {
      throw new VaultResponseError(`Vault's KV answer for ${full} has no data.`, {
        status: response.status,
        method: "GET",
        path: full,
      });
    }
    return {
      data: response.status === 404 ? null : ((data.data ?? null) as T | null),
      metadata: versionMetadata(data.metadata, full),
    };
  }

  /** Writes a new version; `cas` makes it conditional on the current version (0: only if absent). */
  async write(
    path: string,
    data: Record<string, unknown>,
    options: KvCallOptions & { cas?: number } = {},
  ): Promise<KvVersionMetadata> {
    const full = `${this.mount}/data/${path}`;
    const response = await this.client.request({
      method: "POST",
      path: full,
      body: options.cas === undefined ? { data } : { data, options: { cas: options.cas } },
      signal: options.signal,
    });
    return versionMetadata(response.body?.data, full);
  }

  /** Soft-deletes the latest version, or the given versions (recoverable with {@link KvV2.undelete}). */
  async delete(path: string, options: KvCallOptions & { versions?: number[] } = {}): Promise<void> {
    await (options.versions === undefined
      ? this.client.request({ method: "DELETE", path: `${this.mount}/data/${path}`, signal: options.signal })
      : this.client.request({
          method: "POST",
          path: `${this.mount}/delete/${path}`,
          body: { versions: options.versions },
          signal: options.signal,
        }));
  }

  /** Restores soft-deleted versions. */
  async undelete(path: string, versions: number[], options: KvCallOptions = {}): Promise<void> {
    await this.client.request({
      method: "POST",
      path: `${this.mount}/undelete/${path}`,
      body: { versions },
      signal: options.signal,
    });
  }

  /** Permanently destroys versions. */
  async destroy(path: string, versions: number[], options: KvCallOptions = {}): Promise<void> {
    await this.client.request({
      method: "PUT",
      path: `${this.mount}/destroy/${path}`,
      body: { versions },
      signal: options.signal,
    });
  }

  /** The secret's metadata and version history, or `undefined` when it does not exist. */
  async readMetadata(path: string, options: KvCallOptions = {}): Promise<KvSecretMetadata | undefined> {
    const full = `${this.mount}/metadata/${path}`;
    const response: VaultResponse = await this.client.request({
      method: "GET",
      path: full,
      accept: [404],
      signal: options.signal,
    });
    if (response.status === 404) return undefined;
    const m = response.body?.data as Record<string, unknown> | undefined;
    if (m === undefined || m === null || typeof m.current_version !== "number") {
      throw new VaultResponseError(`Vault's KV metadata answer for ${full} is incomplete.`, {
        status: 200,
        method: "GET",
        path: full,
      });
    }
    const versions: KvSecretMetadata["versions"] = {};
    for (const [number, v] of Object.entries((m.versions ?? {}) as Record<string, Record<string, unknown>>)) {
      versions[number] = {
        createdTime: time(v.created_time) ?? new Date(0),
        deletionTime: time(v.deletion_time),
        destroyed: v.destroyed === true,
      };
    }
    return {
      currentVersion: m.current_version,
      oldestVersion: Number(m.oldest_version ?? 0),
      createdTime: time(m.created_time) ?? new Date(0),
      updatedTime: time(m.updated_time) ?? new Date(0),
      maxVersions: Number(m.max_versions ?? 0),
      casRequired: m.cas_required === true,
      customMetadata: (m.custom_metadata as Record<string, string> | null | undefined) ?? null,
      versions,
    };
  }
}
