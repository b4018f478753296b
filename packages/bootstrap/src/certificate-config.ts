// `certificate:` in bootstrap.yaml: the workload certificate files, written before the app
// starts and renewed for as long as it runs (the `certificate` command's options as YAML).
import type { WorkloadKeyType } from "@confspace/ekm-tls";
import { child, fail, integer, object, optionalString, string, url } from "./internal/config-reader.js";

/** The `certificate:` section. */
export interface CertificateSectionConfig {
  /** Absolute directory for `tls.crt`, `tls.key`, `ca.crt`, `workload-ca.crt`. Required. */
  outDir: string;
  /** The token broker. Default: env `CONFSPACE_BROKER_URL`. */
  brokerUrl?: string;
  /** The broker's attestation audience. Default: env `CONFSPACE_BROKER_AUDIENCE`. */
  audience?: string;
  /** PEM CA of the broker's certificate; also `ca.crt` unless `keyServiceCaFile`. Default: Node's CAs. */
  caFile?: string;
  /** PEM CA of the key service's server certificate, written as `ca.crt`. Default `caFile`. */
  keyServiceCaFile?: string;
  /** Default `P-256`. */
  keyType?: WorkloadKeyType;
  /** Requested lifetime, seconds. Default: the grant's maximum. */
  lifetimeSeconds?: number;
  /** DNS subjectAltNames to request. Default none. */
  dnsNames?: string[];
}

const KEY_TYPES: readonly string[] = ["P-256", "P-384", "RSA-2048", "RSA-3072", "RSA-4096"];

export function parseCertificateSection(value: unknown, path = "certificate"): CertificateSectionConfig {
  const o = object(value, path, [
    "outDir",
    "brokerUrl",
    "audience",
    "caFile",
    "keyServiceCaFile",
    "keyType",
    "lifetimeSeconds",
    "dnsNames",
  ]);
  const config: CertificateSectionConfig = {
    outDir: string(o.outDir, child(path, "outDir"), /^\//, "must be an absolute path"),
  };
  if (o.brokerUrl !== undefined) config.brokerUrl = url(o.brokerUrl, child(path, "brokerUrl"));
  for (const key of ["audience", "caFile", "keyServiceCaFile"] as const) {
    const v = optionalString(o[key], child(path, key));
    if (v !== undefined) config[key] = v;
  }
  if (o.keyType !== undefined) {
    config.keyType = string(
      o.keyType,
      child(path, "keyType"),
      new RegExp(`^(${KEY_TYPES.join("|")})$`),
      `must be one of ${KEY_TYPES.join(", ")}`,
    ) as WorkloadKeyType;
  }
  if (o.lifetimeSeconds !== undefined) {
    config.lifetimeSeconds = integer(o.lifetimeSeconds, child(path, "lifetimeSeconds"), 1, 31_536_000);
  }
  if (o.dnsNames !== undefined) {
    if (!Array.isArray(o.dnsNames)) fail(child(path, "dnsNames"), "must be a list of DNS names");
    config.dnsNames = o.dnsNames.map((name, index) => string(name, child(child(path, "dnsNames"), index)));
  }
  return config;
}
