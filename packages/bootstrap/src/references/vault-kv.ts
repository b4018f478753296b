// `from: vault-kv`: one field of a Vault / OpenBao KV v2 secret, read after a JWT login
// with the attestation token (vault-jwt's client: login, TLS, namespace, errors).
import { VaultJwtClient } from "@confspace/vault-jwt";
import { child, fail, integer, object, optionalString, type Plain, string, url } from "../internal/config-reader.js";
import type { ReferenceScheme } from "./reference-scheme.js";

/** The `vault:` section: where and how to log in. Unset fields fall back to vault-jwt's environment variables. */
export interface VaultSectionConfig {
  /** `https://vault.example:8200`. Default: env `CONFSPACE_VAULT_ADDR`, then `VAULT_ADDR`. */
  address?: string;
  /** JWT auth role. Default: env `CONFSPACE_VAULT_ROLE`, then the mount's `default_role`. */
  role?: string;
  /** Audience of the attestation token (the role's `bound_audiences`). Default: env `CONFSPACE_VAULT_AUDIENCE`. */
  audience?: string;
  /** JWT auth mount. Default `jwt`. */
  authMount?: string;
  /** `X-Vault-Namespace`. Default: none. */
  namespace?: string;
  /** CA file (PEM) for Vault's certificate. Default: env `CONFSPACE_VAULT_CACERT`, `VAULT_CACERT`, Node's CAs. */
  caFile?: string;
}

/** A parsed `vault-kv` entry. */
export interface VaultKvReference {
  /** KV v2 mount. Default `secret`. */
  mount: string;
  /** Path below the mount, `app/config`. */
  path: string;
  /** The field of the secret's data, which must hold a string. */
  field: string;
  /** A fixed version. Default: the latest. */
  version?: number;
}

function parseVault(value: unknown, path: string): VaultSectionConfig {
  const o = object(value, path, ["address", "role", "audience", "authMount", "namespace", "caFile"]);
  const config: VaultSectionConfig = {};
  if (o.address !== undefined) config.address = url(o.address, child(path, "address"));
  for (const key of ["role", "audience", "authMount", "namespace", "caFile"] as const) {
    const v = optionalString(o[key], child(path, key));
    if (v !== undefined) config[key] = v;
  }
  return config;
}

/** The `vault-kv` reference scheme. */
export const vaultKvScheme: ReferenceScheme<VaultSectionConfig, VaultKvReference> = {
  name: "vault-kv",
  section: { key: "vault", parse: parseVault },
  fields: ["mount", "path", "field", "version"],
  parseReference(entry: Plain, path: string) {
    const reference: VaultKvReference = {
      mount:
        optionalString(entry.mount, child(path, "mount"), /^[\w.-]+(\/[\w.-]+)*$/, "must be a mount path") ?? "secret",
      path: string(
        entry.path,
        child(path, "path"),
        /^[\w.@-]+(\/[\w.@-]+)*$/,
        "must be a path below the mount, without a leading slash or ..",
      ),
      field: string(entry.field, child(path, "field")),
    };
    if (reference.path.split("/").some((segment) => segment === "..")) fail(child(path, "path"), "must not contain ..");
    if (entry.version !== undefined) reference.version = integer(entry.version, child(path, "version"), 1, 2 ** 31);
    return reference;
  },
  open(section, { logger }) {
    let client: VaultJwtClient | undefined;
    return {
      async resolve(reference, signal) {
        client ??= new VaultJwtClient({
          address: section?.address,
          role: section?.role,
          audience: section?.audience,
          mount: section?.authMount,
          namespace: section?.namespace,
          ...(section?.caFile !== undefined && { tls: { caFile: section.caFile } }),
          logger,
        });
        const secret = await client.kv(reference.mount).read<Record<string, unknown>>(reference.path, {
          signal,
          ...(reference.version !== undefined && { version: reference.version }),
        });
        if (secret === undefined || secret.data === null) {
          throw new Error(`no KV secret at ${reference.mount}/${reference.path} (missing or deleted)`);
        }
        const value = secret.data[reference.field];
        if (typeof value !== "string") {
          throw new Error(
            `the KV secret ${reference.mount}/${reference.path} has no string field "${reference.field}"`,
          );
        }
        return Buffer.from(value, "utf8");
      },
      async close() {
        await client?.dispose();
      },
    };
  },
};
