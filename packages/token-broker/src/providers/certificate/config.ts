// Configuration of the certificate provider: the `certificates` section (the CA) and a
// grant's `certificate` section, read strictly with errors naming the option path.
import type { CertificateGrant, CertificatesConfig } from "../../config-types.js";
import { child, compact, object, optionalInteger, optionalStringList, string } from "../../internal/config-reader.js";

/** Longest CSR accepted, characters of PEM (a 4096-bit RSA CSR is about 1.7 KiB). */
export const MAX_CSR_LENGTH = 16_384;

/** Default and bounds of {@link CertificateGrant.maxLifetimeSeconds}. */
export const DEFAULT_MAX_LIFETIME_SECONDS = 3600;
export const MAX_LIFETIME_BOUNDS = [60, 86_400] as const;

const PATH = { maxLength: 4096 };
const KEY_NAME = {
  pattern: /^[A-Za-z0-9_.-]{1,64}$/,
  patternMessage: "must be 1–64 letters, digits, '_', '.', '-'",
};
const DNS_NAME = {
  pattern: /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
  patternMessage: "must be a lower-case DNS name (a leading '*.' allowed)",
  maxLength: 253,
};

/** Reads the `certificates` section. @throws {BrokerConfigError} naming the field. */
export function readCertificatesConfig(value: unknown, path: string): CertificatesConfig {
  const o = object(value, path, ["caCertFile", "caKeyFile"], {
    caKey: "the key is never inline: name its file with caKeyFile",
  });
  return {
    caCertFile: string(o.caCertFile, child(path, "caCertFile"), PATH),
    caKeyFile: string(o.caKeyFile, child(path, "caKeyFile"), PATH),
  };
}

/** Reads a grant's `certificate` section. @throws {BrokerConfigError} naming the field. */
export function readCertificateGrant(value: unknown, path: string): CertificateGrant {
  const o = object(value, path, ["maxLifetimeSeconds", "keys", "dnsNames"]);
  return compact({
    maxLifetimeSeconds: optionalInteger(
      o.maxLifetimeSeconds,
      child(path, "maxLifetimeSeconds"),
      ...MAX_LIFETIME_BOUNDS,
    ),
    keys: optionalStringList(o.keys, child(path, "keys"), KEY_NAME),
    dnsNames: optionalStringList(o.dnsNames, child(path, "dnsNames"), DNS_NAME),
  });
}
