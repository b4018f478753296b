import { readFileSync } from "node:fs";
import { DEFAULT_TOKEN_AUDIENCE } from "@confspace/attestation";
import { type FoundSetting, optionOrEnv } from "@confspace/core";
import {
  ADDR_ENV,
  AUDIENCE_ENV,
  AUTH_MOUNT_ENV,
  CACERT_ENV,
  CLIENT_CERT_ENV,
  CLIENT_KEY_ENV,
  NAMESPACE_ENV,
  ROLE_ENV,
  VAULT_ADDR_ENV,
  VAULT_CACERT_ENV,
  VAULT_CLIENT_CERT_ENV,
  VAULT_CLIENT_KEY_ENV,
  VAULT_NAMESPACE_ENV,
  VAULT_TLS_SERVER_NAME_ENV,
} from "../env.js";
import { VaultOptionError } from "../errors.js";
import type { TransportTls } from "./transport.js";

/** TLS options of the client (see `VaultJwtClientOptions.tls`). */
export interface TlsInput {
  ca?: string | Buffer | Array<string | Buffer>;
  caFile?: string;
  cert?: string | Buffer;
  certFile?: string;
  key?: string | Buffer;
  keyFile?: string;
  passphrase?: string;
  servername?: string;
}

/** First non-empty of an explicit value and environment variables, with where it came from (core's rule). */
export function pick(explicit: string | undefined, envVars: readonly string[]): FoundSetting | undefined {
  return optionOrEnv(explicit, envVars);
}

const LOOPBACK = /^(?:127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/i;

export function resolveAddress(explicit: string | undefined, allowInsecureHttp: boolean): URL {
  const found = pick(explicit, [ADDR_ENV, VAULT_ADDR_ENV]);
  if (found === undefined) {
    throw new VaultOptionError(
      "address",
      `No Vault address: pass the address option or set ${ADDR_ENV} (or Vault's ${VAULT_ADDR_ENV}), e.g. https://vault.example.com:8200.`,
      [ADDR_ENV, VAULT_ADDR_ENV],
    );
  }
  let url: URL;
  try {
    url = new URL(found.value);
  } catch {
    throw new VaultOptionError("address", `The Vault address from ${found.from} is not a URL.`, [
      ADDR_ENV,
      VAULT_ADDR_ENV,
    ]);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new VaultOptionError("address", `The Vault address from ${found.from} must be http(s)://.`, [
      ADDR_ENV,
      VAULT_ADDR_ENV,
    ]);
  }
  if (url.protocol === "http:" && !LOOPBACK.test(url.hostname) && !allowInsecureHttp) {
    throw new VaultOptionError(
      "address",
      `The Vault address from ${found.from} is plain http to ${url.hostname}: attestation and Vault tokens would cross the network unencrypted. Use https, or set allowInsecureHttp: true if something else encrypts the path.`,
      [ADDR_ENV, VAULT_ADDR_ENV],
    );
  }
  if (url.search !== "" || url.hash !== "") {
    throw new VaultOptionError("address", `The Vault address from ${found.from} must not have a query or fragment.`, [
      ADDR_ENV,
      VAULT_ADDR_ENV,
    ]);
  }
  return url;
}

export function resolveMount(explicit: string | undefined): string {
  const mount = (pick(explicit, [AUTH_MOUNT_ENV])?.value ?? "jwt").replace(/^\/+|\/+$/g, "");
  if (mount === "" || mount.split("/").some((part) => part === "" || part === "." || part === "..")) {
    throw new VaultOptionError("mount", `The auth mount "${mount}" is not a valid Vault path.`, [AUTH_MOUNT_ENV]);
  }
  return mount;
}

export function resolveRole(explicit: string | undefined): string | undefined {
  return pick(explicit, [ROLE_ENV])?.value;
}

export function resolveNamespace(explicit: string | undefined): string | undefined {
  const value = pick(explicit, [NAMESPACE_ENV, VAULT_NAMESPACE_ENV])?.value.replace(/^\/+|\/+$/g, "");
  return value === "" ? undefined : value;
}

/** The custom token audience; refuses the default token's audience, which needs an explicit `tokenSource`. */
export function resolveAudience(explicit: string | undefined): string {
  const found = pick(explicit, [AUDIENCE_ENV]);
  if (found === undefined) {
    throw new VaultOptionError(
      "audience",
      `No attestation token audience: pass the audience option or set ${AUDIENCE_ENV} to the value the Vault role lists in bound_audiences (e.g. https://vault.example.com), or pass a tokenSource.`,
      [AUDIENCE_ENV],
    );
  }
  if (found.value === DEFAULT_TOKEN_AUDIENCE) {
    throw new VaultOptionError(
      "audience",
      `The audience from ${found.from} is the default token's (${DEFAULT_TOKEN_AUDIENCE}), which the launcher does not issue as a custom token. To send the default token to Vault anyway, pass tokenSource: defaultTokenSource() — and read the README on why a dedicated audience is safer.`,
      [AUDIENCE_ENV],
    );
  }
  return found.value;
}

function readPem(path: string, option: string, envVars: readonly string[]): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new VaultOptionError(option, `Cannot read ${option} file ${path} (${String(code ?? "error")}).`, envVars);
  }
}

/** TLS material from options, then files named by CONFSPACE_VAULT_* and VAULT_* variables. */
export function resolveTls(input: TlsInput | undefined): TransportTls {
  const tls: TransportTls = {};
  const caEnv = [CACERT_ENV, VAULT_CACERT_ENV];
  if (input?.ca !== undefined) tls.ca = input.ca;
  else {
    const file = pick(input?.caFile, caEnv);
    if (file !== undefined) tls.ca = readPem(file.value, "tls.caFile", caEnv);
  }
  const certEnv = [CLIENT_CERT_ENV, VAULT_CLIENT_CERT_ENV];
  const keyEnv = [CLIENT_KEY_ENV, VAULT_CLIENT_KEY_ENV];
  if (input?.cert !== undefined) tls.cert = input.cert;
  else {
    const file = pick(input?.certFile, certEnv);
    if (file !== undefined) tls.cert = readPem(file.value, "tls.certFile", certEnv);
  }
  if (input?.key !== undefined) tls.key = input.key;
  else {
    const file = pick(input?.keyFile, keyEnv);
    if (file !== undefined) tls.key = readPem(file.value, "tls.keyFile", keyEnv);
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new VaultOptionError(
      tls.cert === undefined ? "tls.cert" : "tls.key",
      "A client certificate needs its key and a key its certificate (tls.cert/tls.key, or the *_CLIENT_CERT/*_CLIENT_KEY variables).",
      [...certEnv, ...keyEnv],
    );
  }
  if (input?.passphrase !== undefined) tls.passphrase = input.passphrase;
  const servername = pick(input?.servername, [VAULT_TLS_SERVER_NAME_ENV]);
  if (servername !== undefined) tls.servername = servername.value;
  return tls;
}

export function positiveMs(option: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new VaultOptionError(
      option,
      `Option ${option} must be a ${allowZero ? "non-negative" : "positive"} number of ms.`,
    );
  }
  return value;
}
