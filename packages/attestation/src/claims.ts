/**
 * Claims of a Confidential Space attestation token, as issued by
 * `https://confidentialcomputing.googleapis.com`. Types follow what the service
 * actually emits: `swversion` is an array of one string, `submods.gce.*` are strings,
 * `eat_nonce` is a string for one nonce and an array for several.
 *
 * Values obtained from {@link decodeClaims} are UNTRUSTED: only claims returned by a
 * verifier (`@confspace/attestation/verify`) may be used for decisions.
 */
export interface ConfidentialSpaceClaims {
  iss: string;
  aud: string | string[];
  sub: string;
  exp: number;
  iat: number;
  nbf: number;
  jti?: string;
  /** The nonces requested with the token: a string for one, an array for several. */
  eat_nonce?: string | string[];
  eat_profile?: string;
  /** `GCP_AMD_SEV`, `GCP_AMD_SEV_ES`, `GCP_INTEL_TDX`; `GCP_SHIELDED_VM` is not a TEE. */
  hwmodel: string;
  /** `CONFIDENTIAL_SPACE` for the Confidential Space image. */
  swname: string;
  /** Image version, e.g. `["240500"]`. */
  swversion: string[];
  /** `disabled-since-boot` in production images, `enabled` in debug images. */
  dbgstat: string;
  secboot: boolean;
  oemid?: number;
  google_service_accounts?: string[];
  submods: ConfidentialSpaceSubmods;
  /** Present on `AWS_PRINCIPALTAGS` tokens. */
  "https://aws.amazon.com/tags"?: AwsPrincipalTagsClaim;
  [claim: string]: unknown;
}

export interface ConfidentialSpaceSubmods {
  container?: ContainerClaims;
  gce?: GceClaims;
  confidential_space?: {
    /** Subset of `EXPERIMENTAL`, `USABLE`, `STABLE`, `LATEST`; empty or absent on debug images. */
    support_attributes?: string[];
    monitoring_enabled?: { memory?: boolean };
  };
  [submod: string]: unknown;
}

export interface ContainerClaims {
  image_reference?: string;
  /** `sha256:…` digest of the running image. */
  image_digest?: string;
  /** `Always`, `OnFailure` or `Never`. */
  restart_policy?: string;
  image_id?: string;
  env?: Record<string, string>;
  env_override?: Record<string, string>;
  cmd_override?: string[];
  args?: string[];
  image_signatures?: ImageSignature[];
  [claim: string]: unknown;
}

export interface ImageSignature {
  key_id: string;
  signature: string;
  signature_algorithm: string;
}

export interface GceClaims {
  zone?: string;
  project_id?: string;
  /** A decimal string, not a number. */
  project_number?: string;
  instance_name?: string;
  /** A decimal string, not a number. */
  instance_id?: string;
  [claim: string]: unknown;
}

export interface AwsPrincipalTagsClaim {
  /** Each tag's value is a one-element string array. */
  principal_tags: Record<string, string[]>;
  [claim: string]: unknown;
}

/** Token types the launcher can issue. */
export type TokenType = "OIDC" | "PKI" | "AWS_PRINCIPALTAGS" | "LIMITED_AWS";

/** Every {@link TokenType}, for validation. */
export const TOKEN_TYPES: readonly TokenType[] = Object.freeze(["OIDC", "PKI", "AWS_PRINCIPALTAGS", "LIMITED_AWS"]);

/** The issuer of real Confidential Space tokens (no trailing slash). */
export const CONFIDENTIAL_SPACE_ISSUER = "https://confidentialcomputing.googleapis.com";

/** The audience of the launcher's default token; reserved, never valid for custom tokens. */
export const DEFAULT_TOKEN_AUDIENCE = "https://sts.googleapis.com";
