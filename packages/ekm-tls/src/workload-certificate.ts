import { createPublicKey, generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { type Clock, InvalidOptionError, systemClock } from "@confspace/core";
import { type BrokerCredentialRequest, requestBrokerCredential } from "./broker-client.js";
import { checkCertificateReply } from "./internal/certificate-reply.js";
import type { CertificateRequestBody } from "./protocol.js";

/** Key pairs a workload certificate can be requested for. */
export type WorkloadKeyType = "P-256" | "P-384" | "RSA-2048" | "RSA-3072" | "RSA-4096";

/** Options of {@link requestWorkloadCertificate}: how to reach the broker, as for `requestBrokerCredential`, and what to ask for. */
export interface WorkloadCertificateRequest extends Omit<BrokerCredentialRequest<CertificateRequestBody>, "body"> {
  /** The key pair generated for the certificate. Not with `privateKey`. Default `"P-256"` (ECDSA). */
  keyType?: WorkloadKeyType;
  /**
   * Certify this existing key instead of generating one, e.g. to renew a certificate
   * while `tls.key` stays the same file. A `KeyObject` of type `"private"` (EC P-256,
   * P-384 or RSA 2048–4096). Not with `keyType`. Default: a new key pair.
   */
  privateKey?: KeyObject;
  /** Lifetime to ask for, in seconds (the broker caps it at the grant's maximum and at the attestation token's age limit). Default: the broker's (its grant's maximum). */
  lifetimeSeconds?: number;
  /** DNS names to put in the request's subjectAltName; the broker refuses any its grant does not list. Default none. */
  dnsNames?: readonly string[];
  /** The request's subject CN (the broker replaces the subject with the grant's name). Default `"confspace-workload"`. */
  commonName?: string;
  /** Time source for the validity checks. Default the system clock. */
  clock?: Pick<Clock, "now">;
}

/** A client certificate from the broker's workload CA, checked, with the private key it certifies. */
export interface WorkloadCertificate {
  /** The leaf certificate (PEM): OpenBao's `tls_client_cert`. */
  certificatePem: string;
  /** The private key (PKCS#8 PEM): OpenBao's `tls_client_key`. Keep it in memory or a 0600 file; never log it. */
  privateKeyPem: string;
  /** The same private key as a `KeyObject` (to pass to `requestWorkloadCertificate({ privateKey })` on renewal). */
  privateKey: KeyObject;
  /** The broker's workload CA certificate (PEM), which signed the leaf. */
  caPem: string;
  /** The grant the broker issued the certificate under (its `urn:confspace:grant:` SAN). */
  grant: string;
  /** The certificate's notAfter, in ms since the epoch. */
  expiresAt: number;
  /** When to renew it, in ms since the epoch: the broker's `refresh_in`, before `expiresAt`. */
  refreshAt: number;
}

const OPTIONS = new Set([
  "brokerUrl",
  "audience",
  "tokenSource",
  "launcher",
  "tokenType",
  "tls",
  "signal",
  "timeoutMs",
  "keyType",
  "privateKey",
  "lifetimeSeconds",
  "dnsNames",
  "commonName",
  "clock",
]);
const KEY_TYPES: Record<WorkloadKeyType, ["ec", { namedCurve: string }] | ["rsa", { modulusLength: number }]> = {
  "P-256": ["ec", { namedCurve: "prime256v1" }],
  "P-384": ["ec", { namedCurve: "secp384r1" }],
  "RSA-2048": ["rsa", { modulusLength: 2048 }],
  "RSA-3072": ["rsa", { modulusLength: 3072 }],
  "RSA-4096": ["rsa", { modulusLength: 4096 }],
};
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const MAX_DNS_NAMES = 16;
const generate = promisify(generateKeyPair);

/**
 * Obtains a short-lived TLS client certificate from the token broker's workload CA
 * (`"provider": "certificate"`). The key pair is generated here (or given) and never
 * leaves the process: the broker receives a PKCS#10 request, sent over the usual
 * EKM-bound exchange (`requestBrokerCredential`), so it signs only after verifying this
 * workload's attestation and finding a grant with a `certificate` section.
 *
 * The reply is checked before it is returned: the certificate certifies this key, is
 * signed by the returned CA, is a client certificate (not a CA), names exactly the grant
 * the broker reported, and is valid now. A failed check is a `WorkloadCertificateError`;
 * the broker's refusals are `BrokerError`s (`ERR_BROKER_DENIED` with `check`, e.g.
 * `image_digest`), option errors `InvalidOptionError`.
 *
 * @example
 * ```ts
 * const cert = await requestWorkloadCertificate({
 *   brokerUrl: "https://broker.example:8443",
 *   audience: "https://broker.example",
 * });
 * // cert.certificatePem, cert.privateKeyPem, cert.caPem; renew at cert.refreshAt
 * ```
 */
export async function requestWorkloadCertificate(options: WorkloadCertificateRequest): Promise<WorkloadCertificate> {
  const { keyType, privateKey: givenKey, lifetimeSeconds, dnsNames = [], commonName = "confspace-workload" } = options;
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw new InvalidOptionError(key, `requestWorkloadCertificate: unknown option ${key}`);
  }
  if (keyType !== undefined && givenKey !== undefined) {
    throw new InvalidOptionError("keyType", "requestWorkloadCertificate: pass keyType or privateKey, not both");
  }
  if (keyType !== undefined && !Object.hasOwn(KEY_TYPES, keyType)) {
    throw new InvalidOptionError("keyType", `keyType must be one of ${Object.keys(KEY_TYPES).join(", ")}`);
  }
  if (givenKey !== undefined && !isSupportedPrivateKey(givenKey)) {
    throw new InvalidOptionError(
      "privateKey",
      "privateKey must be a private KeyObject: EC P-256 or P-384, or RSA 2048-4096",
    );
  }
  if (lifetimeSeconds !== undefined && (!Number.isSafeInteger(lifetimeSeconds) || lifetimeSeconds <= 0)) {
    throw new InvalidOptionError("lifetimeSeconds", "lifetimeSeconds must be a positive whole number of seconds");
  }
  if (!Array.isArray(dnsNames) || dnsNames.length > MAX_DNS_NAMES) {
    throw new InvalidOptionError("dnsNames", `dnsNames must be a list of at most ${MAX_DNS_NAMES} DNS names`);
  }
  dnsNames.forEach((name, index) => {
    if (typeof name !== "string" || !DNS_NAME.test(name)) {
      throw new InvalidOptionError(
        `dnsNames[${index}]`,
        `dnsNames[${index}] must be a DNS name such as app.example.com`,
      );
    }
  });
  if (typeof commonName !== "string" || !/^[\x20-\x7e]{1,64}$/.test(commonName)) {
    throw new InvalidOptionError("commonName", "commonName must be 1-64 printable ASCII characters");
  }

  let privateKey: KeyObject;
  let publicKey: KeyObject;
  if (givenKey !== undefined) {
    privateKey = givenKey;
    publicKey = createPublicKey(givenKey);
  } else {
    const [type, params] = KEY_TYPES[keyType ?? "P-256"];
    ({ privateKey, publicKey } = await (type === "ec"
      ? generate("ec", params as { namedCurve: string })
      : generate("rsa", params as { modulusLength: number })));
  }
  // Loaded here, not at import: the DER writer is only for apps that request certificates
  // (the broker imports this package for its EKM binding and must not load it).
  const { createCsr } = await import("./internal/csr.js");
  const csr = createCsr({ privateKey, publicKey, commonName, dnsNames });
  const reply = await requestBrokerCredential<CertificateRequestBody>({
    brokerUrl: options.brokerUrl,
    audience: options.audience,
    tokenSource: options.tokenSource,
    launcher: options.launcher,
    tokenType: options.tokenType,
    tls: options.tls,
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    body: { provider: "certificate", csr, ...(lifetimeSeconds !== undefined && { lifetime_seconds: lifetimeSeconds }) },
  });
  const now = (options.clock ?? systemClock).now();
  const checked = checkCertificateReply(reply, publicKey, privateKey, new URL(options.brokerUrl).origin, now);
  return {
    ...checked,
    privateKey,
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
  };
}

function isSupportedPrivateKey(key: unknown): key is KeyObject {
  const k = key as KeyObject;
  if (typeof k !== "object" || k === null || k.type !== "private") return false;
  if (k.asymmetricKeyType === "ec") {
    const curve = k.asymmetricKeyDetails?.namedCurve;
    return curve === "prime256v1" || curve === "secp384r1";
  }
  const bits = k.asymmetricKeyDetails?.modulusLength;
  return k.asymmetricKeyType === "rsa" && bits !== undefined && bits >= 2048 && bits <= 4096;
}
