// The `seal "transit"` stanza of an auto-unsealing server: its options checked strictly and
// rendered as HCL. What OpenBao sends to the address (PUT encrypt/decrypt, no token needed)
// is described in the README section of startOpenBao.
import { InvalidOptionError } from "@confspace/core";

/**
 * Auto-unseal through a transit-compatible key service (OpenBao's own transit engine, or
 * the token broker's key service): rendered as OpenBao's `seal "transit"` stanza.
 */
export interface OpenBaoTransitSeal {
  /** The key service, `https://HOST:PORT` (or `http://` for a plain OpenBao target). */
  address: string;
  /** The transit key's name (`key_name`). */
  keyName: string;
  /** The transit mount (`mount_path`). Default `"transit/"`. */
  mountPath?: string;
  /** PEM file of the CA that verifies the key service's server certificate (`tls_ca_cert`). */
  tlsCaCert?: string;
  /** PEM file of the client certificate OpenBao presents (`tls_client_cert`); read once when the server starts. */
  tlsClientCert?: string;
  /** PEM file of its private key (`tls_client_key`). */
  tlsClientKey?: string;
  /** The name to verify the key service's certificate against (`tls_server_name`). Default: the address's host. */
  tlsServerName?: string;
  /**
   * A token sent as `X-Vault-Token` (`token`). Default: none — a key service that authenticates
   * the client certificate needs none, and then OpenBao makes no token renewal calls.
   */
  token?: string;
  /** `disable_renewal`: no `auth/token/renew-self` calls. Default `true`. */
  disableRenewal?: boolean;
}

const KEYS = new Set([
  "address",
  "keyName",
  "mountPath",
  "tlsCaCert",
  "tlsClientCert",
  "tlsClientKey",
  "tlsServerName",
  "token",
  "disableRenewal",
]);

/** Throws core's `InvalidOptionError` naming `seal.<option>` for anything unknown, missing or of the wrong type. */
export function checkTransitSeal(seal: unknown): asserts seal is OpenBaoTransitSeal {
  if (typeof seal !== "object" || seal === null || Array.isArray(seal)) {
    throw new InvalidOptionError("seal", "startOpenBao: seal must be an object ({ address, keyName, … })");
  }
  const record = seal as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!KEYS.has(key)) throw new InvalidOptionError(`seal.${key}`, `startOpenBao: unknown option seal.${key}`);
  }
  for (const key of ["address", "keyName"]) {
    if (typeof record[key] !== "string" || record[key] === "") {
      throw new InvalidOptionError(`seal.${key}`, `startOpenBao: seal.${key} must be a non-empty string`);
    }
  }
  const url = URL.canParse(record.address as string) ? new URL(record.address as string) : undefined;
  if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new InvalidOptionError("seal.address", "startOpenBao: seal.address must be an http(s):// URL");
  }
  for (const key of ["mountPath", "tlsCaCert", "tlsClientCert", "tlsClientKey", "tlsServerName", "token"]) {
    if (record[key] !== undefined && (typeof record[key] !== "string" || record[key] === "")) {
      throw new InvalidOptionError(`seal.${key}`, `startOpenBao: seal.${key} must be a non-empty string`);
    }
  }
  if (record.disableRenewal !== undefined && typeof record.disableRenewal !== "boolean") {
    throw new InvalidOptionError("seal.disableRenewal", "startOpenBao: seal.disableRenewal must be a boolean");
  }
  if ((record.tlsClientCert === undefined) !== (record.tlsClientKey === undefined)) {
    throw new InvalidOptionError(
      record.tlsClientCert === undefined ? "seal.tlsClientCert" : "seal.tlsClientKey",
      "startOpenBao: seal.tlsClientCert and seal.tlsClientKey go together",
    );
  }
}

const quote = (text: string) => JSON.stringify(text);

/** The HCL stanza, one setting a line. */
export function renderTransitSeal(seal: OpenBaoTransitSeal): string[] {
  const settings: [string, string | undefined][] = [
    ["address", seal.address],
    ["key_name", seal.keyName],
    ["mount_path", seal.mountPath ?? "transit/"],
    ["disable_renewal", String(seal.disableRenewal ?? true)],
    ["tls_ca_cert", seal.tlsCaCert],
    ["tls_client_cert", seal.tlsClientCert],
    ["tls_client_key", seal.tlsClientKey],
    ["tls_server_name", seal.tlsServerName],
    ["token", seal.token],
  ];
  return [
    'seal "transit" {',
    ...settings.filter(([, value]) => value !== undefined).map(([key, value]) => `  ${key} = ${quote(value!)}`),
    "}",
  ];
}
