import { ConfspaceError, type ConfspaceErrorOptions } from "@confspace/core";

/** Which check of the broker's certificate reply failed (see {@link WorkloadCertificateError}). */
export type WorkloadCertificateCheck =
  | "reply"
  | "key_mismatch"
  | "issuer"
  | "usage"
  | "grant"
  | "expired"
  | "not_yet_valid";

/**
 * The token broker answered a certificate request with something this workload must not
 * use. Code `ERR_WORKLOAD_CERTIFICATE`; `check` says which check failed:
 *
 * - `reply`: not the certificate reply of protocol v1 (a field missing or of the wrong
 *   type, not exactly one PEM certificate in `certificate` or `ca_certificate`);
 * - `key_mismatch`: the certificate is for another public key than the request's;
 * - `issuer`: `ca_certificate` is not a CA, or did not sign the certificate;
 * - `usage`: the certificate is a CA, or has no extended key usage naming client authentication;
 * - `grant`: its `urn:confspace:grant:` URI is missing, repeated, or names another grant than `grant`;
 * - `expired` / `not_yet_valid`: outside its validity now (more than 60 s of clock skew).
 *
 * Refusals by the broker itself (attestation, policy, rate limits) are `BrokerError`s.
 * Never carries the private key or the reply's text.
 */
export class WorkloadCertificateError extends ConfspaceError {
  declare readonly code: "ERR_WORKLOAD_CERTIFICATE";
  /** The failed check. */
  readonly check: WorkloadCertificateCheck;
  /** The broker's origin, e.g. `https://broker.example:8443`. */
  readonly brokerUrl: string;

  constructor(check: WorkloadCertificateCheck, brokerUrl: string, message: string, options?: ConfspaceErrorOptions) {
    super("ERR_WORKLOAD_CERTIFICATE", message, options);
    this.check = check;
    this.brokerUrl = brokerUrl;
  }
}
