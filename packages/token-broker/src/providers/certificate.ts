// provider "certificate": a short-lived client certificate for the workload's CSR, signed by
// the broker's workload CA (`certificates`), for a grant with a `certificate` section. The
// CSR checks and the signing live in ./certificate/ and are imported only when
// `certificates` is configured.
import type { CertificateReply } from "@confspace/ekm-tls";
import type { CertificateGrant } from "../config-types.js";
import { BrokerConfigError } from "../errors.js";
import { ReplyError } from "../internal/reply-error.js";
import { InvalidBrokerRequestError, requiredString } from "../internal/token-request.js";
import {
  DEFAULT_MAX_LIFETIME_SECONDS,
  MAX_CSR_LENGTH,
  readCertificateGrant,
  readCertificatesConfig,
} from "./certificate/config.js";
import type { CertificateIssuer } from "./certificate/issuer.js";
import { defineProvider } from "./provider.js";

/** A CA certificate expiring sooner than this is logged at start (leaves never outlive it), ms: 7 days. */
const CA_EXPIRY_WARNING_MS = 7 * 86_400_000;

/** `POST /v1/token` asking for a workload certificate. */
export interface CertificateTokenRequest {
  /** PEM PKCS #10 request, at most {@link MAX_CSR_LENGTH} characters. */
  csr: string;
  /** Requested lifetime, seconds; capped by the grant and the token's age limit. Default: the grant's maximum. */
  lifetimeSeconds?: number;
}

/** Workload client certificates: `provider: "certificate"`, `certificates`, `grants[].certificate`. */
export const certificateProvider = defineProvider({
  name: "certificate",

  readRequest(fields): CertificateTokenRequest {
    const request: CertificateTokenRequest = { csr: requiredString(fields, "csr", MAX_CSR_LENGTH) };
    const lifetime = fields.lifetime_seconds;
    if (lifetime !== undefined) {
      if (typeof lifetime !== "number" || !Number.isSafeInteger(lifetime) || lifetime <= 0) {
        throw new InvalidBrokerRequestError('"lifetime_seconds" must be a positive integer');
      }
      request.lifetimeSeconds = lifetime;
    }
    return request;
  },

  section: { key: "certificates", read: readCertificatesConfig },

  grant: {
    key: "certificate",
    read: (value, path) => readCertificateGrant(value, path),
    compile: (section: CertificateGrant): CertificateGrant =>
      Object.freeze({ ...section, maxLifetimeSeconds: section.maxLifetimeSeconds ?? DEFAULT_MAX_LIFETIME_SECONDS }),
    // A grant with a certificate section gives a certificate; the CSR is checked against it at issue.
    select: (section) => section,
    deniedWhat: "a certificate",
  },

  check(config) {
    if (config.certificates !== undefined) return;
    const index = config.grants.findIndex((grant) => grant.certificate !== undefined);
    if (index !== -1) {
      throw new BrokerConfigError("needs the certificates section (the CA that signs workload certificates)", {
        field: `grants[${index}].certificate`,
      });
    }
  },

  start(setup) {
    const config = setup.config.certificates;
    if (config === undefined) return undefined;
    const maxTokenAgeSeconds = setup.config.attestation.maxTokenAgeSeconds ?? 3600;
    let issuer: CertificateIssuer | undefined;
    let refusal: typeof import("./certificate/issuer.js").CertificateRefusal | undefined;
    return {
      async checkFiles() {
        const module = await import("./certificate/issuer.js");
        refusal = module.CertificateRefusal;
        const now = setup.clock.now();
        issuer = await module.CertificateIssuer.load(config, { maxTokenAgeSeconds, now });
        if (issuer.caNotAfter - now < CA_EXPIRY_WARNING_MS) {
          setup.logger.warn("the workload CA certificate expires soon: renew certificates.caCertFile", {
            field: "certificates.caCertFile",
            notAfter: new Date(issuer.caNotAfter).toISOString(),
          });
        }
      },
      async issue({ request, grant, claims, fields }): Promise<CertificateReply> {
        if (issuer === undefined || refusal === undefined) throw new Error("the certificate CA is not loaded yet");
        try {
          const { reply, log } = issuer.issue({
            csr: request.csr,
            ...(request.lifetimeSeconds === undefined ? {} : { lifetimeSeconds: request.lifetimeSeconds }),
            grantName: grant.name,
            grant: grant.value,
            claims,
            now: setup.clock.now(),
          });
          Object.assign(fields, log);
          return reply;
        } catch (error) {
          if (error instanceof refusal) {
            throw new ReplyError(error.error, error.message, error.check === undefined ? {} : { check: error.check });
          }
          throw error;
        }
      },
    };
  },
});
