// The `keyService` section of the broker configuration: its types and its strict reader.
import {
  child,
  compact,
  fail,
  integer,
  list,
  object,
  optionalInteger,
  optionalString,
  record,
  type StringRules,
  string,
} from "../internal/config-reader.js";

/**
 * The broker's attested key service: an OpenBao/Vault transit-compatible API on its own
 * mutual-TLS listener. Clients authenticate with a workload certificate issued by the
 * broker's `certificate` provider (signed by `certificates.caCertFile`); a certificate may
 * use only the keys its grant lists (`grants[].certificate.keys`).
 */
export interface KeyServiceConfig {
  /** Where the key service listens. Default `{ host: "0.0.0.0", port: 8444 }`. */
  listen?: KeyServiceListenConfig;
  /** The key service's TLS server certificate. Default: the token listener's `tls.certFile` and `tls.keyFile`. */
  tls?: KeyServiceTlsConfig;
  /** The transit mount the API answers under: `/v1/{mountPath}/encrypt/{key}`. Default `"transit"`. */
  mountPath?: string;
  /**
   * Root secrets, one per key version; every key has one version per root. The highest
   * `version` encrypts; every listed version decrypts (unless a key's
   * `minDecryptionVersion` retires it). Rotate by adding a root with a higher version.
   * At least one.
   */
  roots: KeyServiceRootConfig[];
  /** Settings of individual keys, by key name (as listed by `grants[].certificate.keys`). Default: none. */
  keys?: Record<string, KeyServiceKeyConfig>;
  /** Largest request body, bytes; larger bodies get 413. Default 65 536. */
  maxBodyBytes?: number;
}

/** Listen address of the key service. */
export interface KeyServiceListenConfig {
  /** Interface to bind. Default `"0.0.0.0"` (every connection must present a workload certificate). */
  host?: string;
  /** TCP port, 0 for any free port. Default `8444`. */
  port?: number;
}

/** Server certificate of the key service. */
export interface KeyServiceTlsConfig {
  /** PEM certificate chain of the server, leaf first. Required. */
  certFile: string;
  /** PEM private key of the server. Required. */
  keyFile: string;
}

/**
 * One root secret: exactly one of `file` (a file holding the root, base64),
 * `env` (an environment variable holding it, base64) and `kmsWrapped` (a Cloud KMS
 * ciphertext of the raw root bytes). A root decodes to at least 32 bytes.
 */
export type KeyServiceRootConfig =
  | { version: number; file: string }
  | { version: number; env: string }
  | { version: number; kmsWrapped: KmsWrappedRootConfig };

/**
 * A root encrypted with Cloud KMS (envelope encryption), decrypted with KMS `decrypt` when
 * the key service starts, so replicas share the root without holding it at rest.
 * Exactly one of `ciphertext` and `ciphertextFile`.
 */
export interface KmsWrappedRootConfig {
  /** CryptoKey resource name, `projects/P/locations/L/keyRings/R/cryptoKeys/K`. Required. */
  key: string;
  /** The KMS ciphertext, base64 (not secret). */
  ciphertext?: string;
  /** Path of a file holding the KMS ciphertext, base64 (as `gcloud kms encrypt … | base64`). */
  ciphertextFile?: string;
  /** Cloud KMS endpoint. Default `https://cloudkms.googleapis.com`. */
  endpoint?: string;
  /**
   * Path of a PEM file with the CA certificate(s) the endpoint's TLS certificate must
   * chain to, instead of Node's root CAs. Default: Node's root CAs.
   */
  caFile?: string;
  /**
   * Name of an environment variable holding an OAuth access token for KMS. Default: the
   * broker's Application Default Credentials (`google-auth-library`, an optional peer
   * dependency loaded only then).
   */
  accessTokenEnv?: string;
}

/** Settings of one key. */
export interface KeyServiceKeyConfig {
  /**
   * Oldest key version that still decrypts; ciphertexts of older versions are refused
   * (`400`). Retire a root's version by raising this, then drop the root. Default: every
   * configured version decrypts.
   */
  minDecryptionVersion?: number;
}

/** Key names: also what `grants[].certificate.keys` lists. */
export const KEY_NAME: StringRules = {
  pattern: /^[A-Za-z0-9_.-]{1,64}$/,
  patternMessage: "must be 1–64 letters, digits, '_', '.', '-'",
};
const ENV_NAME: StringRules = {
  pattern: /^[A-Za-z_][A-Za-z0-9_]*$/,
  patternMessage: "must be an environment variable name",
  maxLength: 256,
};
const MOUNT_PATH: StringRules = {
  pattern: /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/,
  patternMessage: "must be path segments of letters, digits, '_', '-' separated by '/' (no leading or trailing '/')",
  maxLength: 128,
};
const KMS_KEY: StringRules = {
  pattern: /^projects\/[^/\s]+\/locations\/[^/\s]+\/keyRings\/[^/\s]+\/cryptoKeys\/[^/\s]+$/,
  patternMessage: "must be projects/P/locations/L/keyRings/R/cryptoKeys/K",
};
const HTTP_URL: StringRules = {
  pattern: /^https?:\/\/[^\s/?#]+\/?$/,
  patternMessage: "must be an http(s) URL with no path",
};
const BASE64: StringRules = {
  pattern: /^[A-Za-z0-9+/]+={0,2}$/,
  patternMessage: "must be base64",
  maxLength: 65_536,
};
/** Highest root version (a `vault:vN:` version fits comfortably in 32 bits). */
export const MAX_KEY_VERSION = 1_000_000;

/**
 * Checks a `keyService` section and returns a clean copy. With `grantKeys` (the key names
 * the grants list), also {@link checkKeyServiceKeys}.
 */
export function readKeyServiceConfig(value: unknown, path: string, grantKeys?: ReadonlySet<string>): KeyServiceConfig {
  const o = object(value, path, ["listen", "tls", "mountPath", "roots", "keys", "maxBodyBytes"], {
    root: "use roots: a list of { version, file | env | kmsWrapped }",
    secret: "secrets are never inline: name a file or environment variable under roots",
  });
  if (o.roots === undefined)
    fail(child(path, "roots"), "is required: at least one { version, file | env | kmsWrapped }");
  const roots = list(o.roots, child(path, "roots"), readRoot);
  const seen = new Set<number>();
  roots.forEach((root, index) => {
    if (seen.has(root.version)) fail(child(child(path, "roots"), index), `version ${root.version} is listed twice`);
    seen.add(root.version);
  });
  const latest = Math.max(...seen);
  const config: KeyServiceConfig = { roots };
  if (o.listen !== undefined) {
    const l = object(o.listen, child(path, "listen"), ["host", "port"]);
    config.listen = compact({
      host: optionalString(l.host, child(child(path, "listen"), "host"), { maxLength: 255 }),
      port: optionalInteger(l.port, child(child(path, "listen"), "port"), 0, 65_535),
    });
  }
  if (o.tls !== undefined) {
    const tlsPath = child(path, "tls");
    const t = object(o.tls, tlsPath, ["certFile", "keyFile"], {
      clientCaFile: "clients are workload certificates of certificates.caCertFile; no other CA is accepted",
    });
    config.tls = {
      certFile: string(t.certFile, child(tlsPath, "certFile")),
      keyFile: string(t.keyFile, child(tlsPath, "keyFile")),
    };
  }
  if (o.mountPath !== undefined) {
    const mountPath = string(o.mountPath, child(path, "mountPath"), MOUNT_PATH);
    if (mountPath.split("/")[0] === "auth" || mountPath.split("/")[0] === "sys") {
      fail(child(path, "mountPath"), "must not start with auth/ or sys/ (reserved by the Vault API)");
    }
    config.mountPath = mountPath;
  }
  if (o.keys !== undefined) {
    const keysPath = child(path, "keys");
    const keys = record(o.keys, keysPath);
    config.keys = Object.fromEntries(
      Object.entries(keys).map(([name, raw]) => {
        const keyPath = child(keysPath, name);
        string(name, keyPath, KEY_NAME);
        const k = object(raw, keyPath, ["minDecryptionVersion"]);
        const min = optionalInteger(k.minDecryptionVersion, child(keyPath, "minDecryptionVersion"), 1, MAX_KEY_VERSION);
        if (min !== undefined && min > latest) {
          fail(child(keyPath, "minDecryptionVersion"), `must be at most ${latest}, the newest root version`);
        }
        return [name, compact({ minDecryptionVersion: min })];
      }),
    );
  }
  if (o.maxBodyBytes !== undefined)
    config.maxBodyBytes = integer(o.maxBodyBytes, child(path, "maxBodyBytes"), 1_024, 16_777_216);
  if (grantKeys !== undefined) checkKeyServiceKeys(config, path, grantKeys);
  return config;
}

/** Refuses a `keys` entry that no grant lists (`grantKeys`): a typo would silently retire nothing. */
export function checkKeyServiceKeys(config: KeyServiceConfig, path: string, grantKeys: ReadonlySet<string>): void {
  for (const name of Object.keys(config.keys ?? {})) {
    if (!grantKeys.has(name))
      fail(child(child(path, "keys"), name), "is listed by no grant (grants[].certificate.keys)");
  }
}

function readRoot(value: unknown, path: string): KeyServiceRootConfig {
  const o = object(value, path, ["version", "file", "env", "kmsWrapped"], {
    secret: "secrets are never inline: use file or env",
    value: "secrets are never inline: use file or env",
    base64: "secrets are never inline: use file or env",
  });
  const version = integer(o.version, child(path, "version"), 1, MAX_KEY_VERSION);
  const sources = (["file", "env", "kmsWrapped"] as const).filter((field) => o[field] !== undefined);
  if (sources.length !== 1) fail(path, "needs exactly one of file, env and kmsWrapped");
  if (o.file !== undefined) return { version, file: string(o.file, child(path, "file")) };
  if (o.env !== undefined) return { version, env: string(o.env, child(path, "env"), ENV_NAME) };
  return { version, kmsWrapped: readKmsWrapped(o.kmsWrapped, child(path, "kmsWrapped")) };
}

function readKmsWrapped(value: unknown, path: string): KmsWrappedRootConfig {
  const o = object(value, path, ["key", "ciphertext", "ciphertextFile", "endpoint", "caFile", "accessTokenEnv"], {
    accessToken: "tokens are never inline: name the environment variable holding it with accessTokenEnv",
  });
  if ((o.ciphertext === undefined) === (o.ciphertextFile === undefined)) {
    fail(path, "needs exactly one of ciphertext (base64) and ciphertextFile");
  }
  return compact({
    key: string(o.key, child(path, "key"), KMS_KEY),
    ciphertext: optionalString(o.ciphertext, child(path, "ciphertext"), BASE64),
    ciphertextFile: optionalString(o.ciphertextFile, child(path, "ciphertextFile")),
    endpoint: optionalString(o.endpoint, child(path, "endpoint"), HTTP_URL),
    caFile: optionalString(o.caFile, child(path, "caFile")),
    accessTokenEnv: optionalString(o.accessTokenEnv, child(path, "accessTokenEnv"), ENV_NAME),
  }) as KmsWrappedRootConfig;
}
