// The certificate provider's work for one verified request: check the CSR against the
// grant, work out the lifetime, sign. Loaded only when `certificates` is configured.
import { claimAt } from "@confspace/policy";
import type { CertificateGrant, CertificatesConfig } from "../../config-types.js";
import { readConfiguredFiles } from "../../internal/config-files.js";
import { type CertificateAuthority, loadCertificateAuthority } from "./ca.js";
import { DEFAULT_MAX_LIFETIME_SECONDS } from "./config.js";
import { CsrError, parseCsr } from "./csr.js";
import { signWorkloadCertificate } from "./sign-certificate.js";

/** A refusal of one request: `invalid_request` (the CSR or the request) or `access_denied` (the workload). */
export class CertificateRefusal extends Error {
  constructor(
    readonly error: "invalid_request" | "access_denied" | "invalid_token",
    message: string,
    readonly check?: string,
  ) {
    super(message);
  }
}

/** One verified request, as the issuer needs it. */
export interface CertificateIssueRequest {
  /** The CSR, PEM (length already capped by the request reader). */
  csr: string;
  /** Requested lifetime, seconds. Default: the grant's maximum. */
  lifetimeSeconds?: number;
  /** The grant chosen for the workload. */
  grantName: string;
  grant: CertificateGrant;
  /** The verified claims. */
  claims: Record<string, unknown>;
  /** Now, ms since the epoch. */
  now: number;
}

/** The reply body (`CertificateReply` of the v1 protocol) and what to log about it (never the CSR or a key). */
export interface CertificateIssueResult {
  reply: { certificate: string; ca_certificate: string; expiration: string; refresh_in: number; grant: string };
  log: { lifetimeSeconds: number; serial: string; keyType: string; dnsNames?: readonly string[] };
}

/** How far notBefore lies in the past, for clocks that run behind, ms. */
export const NOT_BEFORE_SKEW_MS = 60_000;

/** Signs workload certificates with the configured CA. */
export class CertificateIssuer {
  readonly #ca: CertificateAuthority;
  readonly #maxTokenAgeMs: number;

  private constructor(ca: CertificateAuthority, maxTokenAgeSeconds: number) {
    this.#ca = ca;
    this.#maxTokenAgeMs = maxTokenAgeSeconds * 1000;
  }

  /**
   * Reads and checks the CA files (at `listen()`, like the TLS files).
   *
   * @throws {BrokerConfigError} a file cannot be read, or the pair is unusable (`field` names it).
   */
  static async load(config: CertificatesConfig, options: { maxTokenAgeSeconds: number; now: number }) {
    const [cert, key] = await readConfiguredFiles([
      { path: config.caCertFile, field: "certificates.caCertFile" },
      { path: config.caKeyFile, field: "certificates.caKeyFile" },
    ]);
    const ca = loadCertificateAuthority(cert.toString("utf8"), key, new Date(options.now));
    return new CertificateIssuer(ca, options.maxTokenAgeSeconds);
  }

  /** When the CA certificate expires, ms since the epoch. */
  get caNotAfter(): number {
    return this.#ca.notAfter.getTime();
  }

  /** The CA certificate, PEM. */
  get caCertificatePem(): string {
    return this.#ca.certificatePem;
  }

  /**
   * Checks the CSR and signs. Lifetime: the requested one, at most the grant's
   * `maxLifetimeSeconds`, never past the token's age limit (`iat` + the verifier's
   * `maxTokenAgeSeconds`), its `exp`, or the CA's own expiry.
   *
   * @throws {CertificateRefusal} the CSR is unusable or asks for DNS names the grant does
   *   not list (`invalid_request`); the token names no workload instance (`access_denied`);
   *   the token has no time left (`invalid_token`, check `too_old`).
   */
  issue(request: CertificateIssueRequest): CertificateIssueResult {
    let csr: ReturnType<typeof parseCsr>;
    try {
      csr = parseCsr(request.csr);
    } catch (error) {
      if (error instanceof CsrError) throw new CertificateRefusal("invalid_request", error.message);
      throw error;
    }
    const allowed = new Set(request.grant.dnsNames ?? []);
    const extra = csr.dnsNames.filter((name) => !allowed.has(name));
    if (extra.length > 0) {
      throw new CertificateRefusal(
        "invalid_request",
        `the CSR asks for ${extra.length} DNS name(s) the grant does not list in certificate.dnsNames`,
      );
    }
    const workload = workloadUriPart(request.claims);
    if (this.#ca.notAfter.getTime() - request.now < 1000) {
      // Not the workload's fault: a 500, logged, until the operator renews the CA.
      throw new Error(
        "the workload CA certificate (certificates.caCertFile) has expired: renew it and restart the broker",
      );
    }
    const notAfter = certificateNotAfter(request, this.#maxTokenAgeMs, this.#ca.notAfter.getTime());
    // notAfter is floored to the second: a 1 s request still leaves (0, 1] s. Nothing left
    // can only come from the token's limits (the CA's was checked above).
    if (notAfter <= request.now) {
      throw new CertificateRefusal(
        "invalid_token",
        "the attestation token has reached its age limit; attest again for a certificate",
        "too_old",
      );
    }
    const lifetimeSeconds = Math.max(1, Math.round((notAfter - request.now) / 1000));
    const signed = signWorkloadCertificate(this.#ca, {
      spki: csr.spki,
      grant: request.grantName,
      workload,
      dnsNames: csr.dnsNames,
      notBefore: new Date(Math.floor((request.now - NOT_BEFORE_SKEW_MS) / 1000) * 1000),
      notAfter: new Date(notAfter),
    });
    return {
      reply: {
        certificate: signed.pem,
        ca_certificate: this.#ca.certificatePem,
        expiration: new Date(notAfter).toISOString(),
        refresh_in: refreshInSeconds(lifetimeSeconds),
        grant: request.grantName,
      },
      log: {
        lifetimeSeconds,
        serial: signed.serial,
        keyType: csr.keyDescription,
        ...(csr.dnsNames.length > 0 ? { dnsNames: csr.dnsNames } : {}),
      },
    };
  }
}

/**
 * The certificate's notAfter, ms, whole seconds: now + min(requested, grant maximum),
 * capped by the token's age limit (`iat` + max age), its `exp` and the CA's notAfter.
 */
export function certificateNotAfter(
  request: Pick<CertificateIssueRequest, "lifetimeSeconds" | "grant" | "claims" | "now">,
  maxTokenAgeMs: number,
  caNotAfter: number,
): number {
  const max = request.grant.maxLifetimeSeconds ?? DEFAULT_MAX_LIFETIME_SECONDS;
  const seconds = Math.min(request.lifetimeSeconds ?? max, max);
  const { iat, exp } = request.claims;
  // The verifier requires both as numbers; a token without them never gets here.
  const limits = [request.now + seconds * 1000, caNotAfter];
  if (typeof iat === "number") limits.push(iat * 1000 + maxTokenAgeMs);
  else limits.push(request.now);
  if (typeof exp === "number") limits.push(exp * 1000);
  else limits.push(request.now);
  return Math.floor(Math.min(...limits) / 1000) * 1000;
}

/** Ask again after two thirds of the lifetime. */
export function refreshInSeconds(lifetimeSeconds: number): number {
  return Math.max(1, Math.floor((lifetimeSeconds * 2) / 3));
}

/**
 * The workload part of the `urn:confspace:workload:` URI: `<project id>/<zone>/<instance
 * name>` from the verified `submods.gce`, each part percent-encoded.
 *
 * @throws {CertificateRefusal} `access_denied`: the token lacks one of them.
 */
export function workloadUriPart(claims: Record<string, unknown>): string {
  const parts = ["submods.gce.project_id", "submods.gce.zone", "submods.gce.instance_name"].map((path) =>
    claimAt(claims, path),
  );
  if (!parts.every((part): part is string => typeof part === "string" && part.length > 0 && part.length <= 253)) {
    throw new CertificateRefusal(
      "access_denied",
      "the attestation token names no GCE project id, zone and instance name; a certificate must name its workload",
    );
  }
  return parts.map((part) => encodeURIComponent(part)).join("/");
}
