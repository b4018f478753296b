// A KV version 2 secrets engine (vault-plugin-secrets-kv): data/ with versions and
// check-and-set, soft delete with deletion_time (a read of a deleted or destroyed version
// answers 404 with its metadata and `data: null`, as Vault does), delete/, undelete/,
// destroy/, metadata/ (read, list, write, delete) and config.
import type { Capability } from "./acl.js";
import { asInt, isObject, plain, type RequestValue } from "./fields.js";
import { badRequest, type HandlerResult, VaultHttpError, vaultTime } from "./responses.js";

/** An engine operation: the capability Vault's ACL needs, and what to do once allowed. */
export interface Operation {
  capability: Capability;
  /** A read: a nil answer is 404 `{"errors":[]}` rather than 204. */
  read?: boolean;
  run(): HandlerResult | undefined | Promise<HandlerResult | undefined>;
}

interface Version {
  data: Record<string, unknown>;
  createdTime: number;
  deletionTime?: number;
  destroyed: boolean;
}

interface Secret {
  versions: Map<number, Version>;
  currentVersion: number;
  oldestVersion: number;
  createdTime: number;
  updatedTime: number;
  customMetadata: Record<string, string> | null;
  maxVersions: number;
  casRequired: boolean;
}

const MOUNT_TYPE = "kv";

export class Kv2Engine {
  readonly #secrets = new Map<string, Secret>();
  #maxVersions = 0;
  #casRequired = false;

  constructor(private readonly now: () => number) {}

  /** Routes `subpath` (below the mount) to an operation, or undefined for no such path. */
  route(
    method: string,
    subpath: string,
    query: URLSearchParams,
    body: Record<string, RequestValue>,
  ): Operation | undefined {
    const [section, ...rest] = subpath.split("/");
    const key = rest.join("/");
    const write = (run: () => HandlerResult | undefined): Operation => ({
      capability: this.#secrets.has(key) ? "update" : "create",
      run,
    });
    switch (`${method} ${section}`) {
      case "GET data":
        return { capability: "read", read: true, run: () => this.#read(key, query) };
      case "POST data":
      case "PUT data":
        return write(() => this.#write(key, body));
      case "DELETE data":
        return { capability: "delete", run: () => this.#softDelete(key, undefined) };
      case "POST delete":
      case "PUT delete":
        return { capability: "update", run: () => this.#softDelete(key, versionsOf(body)) };
      case "POST undelete":
      case "PUT undelete":
        return { capability: "update", run: () => this.#undelete(key, versionsOf(body)) };
      case "POST destroy":
      case "PUT destroy":
        return { capability: "update", run: () => this.#destroy(key, versionsOf(body)) };
      case "GET metadata":
        if (query.get("list") === "true" || key === "" || key.endsWith("/")) {
          return { capability: "list", read: true, run: () => this.#list(key) };
        }
        return { capability: "read", read: true, run: () => this.#metadata(key) };
      case "POST metadata":
      case "PUT metadata":
        return write(() => this.#writeMetadata(key, body));
      case "DELETE metadata":
        return { capability: "delete", run: () => void this.#secrets.delete(key) };
      case "GET config":
        return {
          capability: "read",
          read: true,
          run: () => ({
            data: { cas_required: this.#casRequired, delete_version_after: "0s", max_versions: this.#maxVersions },
          }),
        };
      case "POST config":
      case "PUT config":
        return {
          capability: "update",
          run: () => {
            if (body.max_versions !== undefined) this.#maxVersions = asInt("max_versions", body.max_versions);
            if (body.cas_required !== undefined) this.#casRequired = body.cas_required === true;
            return undefined;
          },
        };
      default:
        return undefined;
    }
  }

  #read(key: string, query: URLSearchParams): HandlerResult | undefined {
    const secret = this.#secrets.get(key);
    if (secret === undefined) return undefined;
    const versionParam = Number.parseInt(query.get("version") ?? "0", 10) || 0;
    const number = versionParam > 0 ? versionParam : secret.currentVersion;
    const version = secret.versions.get(number);
    if (version === undefined) return undefined;
    const metadata = this.#versionMetadata(secret, number, version);
    const gone = (version.deletionTime !== undefined && version.deletionTime <= this.now()) || version.destroyed;
    return {
      status: gone ? 404 : 200,
      data: { data: gone ? null : structuredClone(version.data), metadata },
      mountType: MOUNT_TYPE,
    };
  }

  #write(key: string, body: Record<string, RequestValue>): HandlerResult {
    if (key === "") throw badRequest("missing path");
    if (body.data === undefined || !isObject(body.data)) throw new VaultHttpError(400, ["no data provided"]);
    const now = this.now();
    let secret = this.#secrets.get(key);
    const cas = isObject(body.options) ? body.options.cas : undefined;
    if (cas !== undefined) {
      if (asInt("cas", cas) !== (secret?.currentVersion ?? 0)) {
        throw badRequest("check-and-set parameter did not match the current version");
      }
    } else if (this.#casRequired || secret?.casRequired) {
      throw badRequest("check-and-set parameter required for this call");
    }
    if (secret === undefined) {
      secret = {
        versions: new Map(),
        currentVersion: 0,
        oldestVersion: 0,
        createdTime: now,
        updatedTime: now,
        customMetadata: null,
        maxVersions: 0,
        casRequired: false,
      };
      this.#secrets.set(key, secret);
    }
    const number = secret.currentVersion + 1;
    const version: Version = { data: plain(body.data) as Record<string, unknown>, createdTime: now, destroyed: false };
    secret.versions.set(number, version);
    secret.currentVersion = number;
    secret.updatedTime = now;
    if (secret.oldestVersion === 0) secret.oldestVersion = number;
    const max = secret.maxVersions || this.#maxVersions || 10;
    while (secret.versions.size > max) {
      secret.versions.delete(secret.oldestVersion);
      secret.oldestVersion += 1;
    }
    return { data: this.#versionMetadata(secret, number, version), mountType: MOUNT_TYPE };
  }

  #softDelete(key: string, versions: number[] | undefined): undefined {
    const secret = this.#secrets.get(key);
    if (secret === undefined) return undefined;
    for (const number of versions ?? [secret.currentVersion]) {
      const version = secret.versions.get(number);
      if (version !== undefined && version.deletionTime === undefined && !version.destroyed)
        version.deletionTime = this.now();
    }
    return undefined;
  }

  #undelete(key: string, versions: number[] | undefined): undefined {
    if (versions === undefined) throw badRequest("no version number provided");
    for (const number of versions) {
      const version = this.#secrets.get(key)?.versions.get(number);
      if (version !== undefined && !version.destroyed) version.deletionTime = undefined;
    }
    return undefined;
  }

  #destroy(key: string, versions: number[] | undefined): undefined {
    if (versions === undefined) throw badRequest("no version number provided");
    for (const number of versions) {
      const version = this.#secrets.get(key)?.versions.get(number);
      if (version !== undefined) {
        version.destroyed = true;
        version.data = {};
      }
    }
    return undefined;
  }

  #metadata(key: string): HandlerResult | undefined {
    const secret = this.#secrets.get(key);
    if (secret === undefined) return undefined;
    const versions: Record<string, unknown> = {};
    for (const [number, version] of secret.versions) {
      versions[String(number)] = {
        created_time: vaultTime(version.createdTime),
        deletion_time: version.deletionTime === undefined ? "" : vaultTime(version.deletionTime),
        destroyed: version.destroyed,
      };
    }
    return {
      data: {
        cas_required: secret.casRequired,
        created_time: vaultTime(secret.createdTime),
        current_version: secret.currentVersion,
        custom_metadata: secret.customMetadata,
        delete_version_after: "0s",
        max_versions: secret.maxVersions,
        oldest_version: secret.oldestVersion,
        updated_time: vaultTime(secret.updatedTime),
        versions,
      },
      mountType: MOUNT_TYPE,
    };
  }

  #writeMetadata(key: string, body: Record<string, RequestValue>): undefined {
    const secret = this.#secrets.get(key);
    if (secret === undefined) throw badRequest("no metadata found for this path; write a version first");
    if (body.max_versions !== undefined) secret.maxVersions = asInt("max_versions", body.max_versions);
    if (body.cas_required !== undefined) secret.casRequired = body.cas_required === true;
    if (isObject(body.custom_metadata)) secret.customMetadata = plain(body.custom_metadata) as Record<string, string>;
    return undefined;
  }

  #list(prefix: string): HandlerResult | undefined {
    const keys = new Set<string>();
    for (const key of this.#secrets.keys()) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf("/");
      keys.add(slash < 0 ? rest : rest.slice(0, slash + 1));
    }
    return keys.size === 0 ? undefined : { data: { keys: [...keys].sort() }, mountType: MOUNT_TYPE };
  }

  #versionMetadata(secret: Secret, number: number, version: Version): Record<string, unknown> {
    return {
      created_time: vaultTime(version.createdTime),
      custom_metadata: secret.customMetadata,
      deletion_time: version.deletionTime === undefined ? "" : vaultTime(version.deletionTime),
      destroyed: version.destroyed,
      version: number,
    };
  }
}

function versionsOf(body: Record<string, RequestValue>): number[] | undefined {
  const raw = body.versions;
  if (raw === undefined) return undefined;
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((v) => asInt("versions", v));
}
