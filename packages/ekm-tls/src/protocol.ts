// The token broker protocol v1, defined once: the workload side (this package and the
// credentials built on it) writes these bodies and reads these replies; the broker
// (@confspace/token-broker) reads the same bodies and writes the same replies. A field
// renamed here breaks the build on both sides.

/** The path of every credential request. */
export const BROKER_TOKEN_PATH = "/v1/token";

/** `POST /v1/token` for an Azure access token (the broker's `provider: "azure"`). */
export interface AzureTokenRequestBody {
  provider: "azure";
  /** One scope, `{resource}/.default`. */
  scope: string;
}

/** `POST /v1/token` for AWS role credentials (the broker's `provider: "aws"`). */
export interface AwsTokenRequestBody {
  provider: "aws";
  /** ARN of the role to assume. */
  role_arn: string;
  /** Suffix of the `RoleSessionName`, after the verified `{project number}-{instance id}` and a `.`. Default: none. */
  session_name?: string;
  /** Requested session length, seconds, 900–43 200; clamped to the grant's maximum. Default: the grant's maximum. */
  duration_seconds?: number;
}

/** `POST /v1/token` for a short-lived client certificate (the broker's `provider: "certificate"`). */
export interface CertificateRequestBody {
  provider: "certificate";
  /** PEM PKCS#10 certificate signing request; the private key never leaves the workload. */
  csr: string;
  /** Requested lifetime, seconds (a positive integer); capped by the grant and the attestation token's age limit. Default: the grant's maximum. */
  lifetime_seconds?: number;
}

/** The fields of a `POST /v1/token` body besides `attestation_token`, one shape per provider. */
export type BrokerRequestBody = AzureTokenRequestBody | AwsTokenRequestBody | CertificateRequestBody;

/** The providers of protocol v1. */
export type BrokerProvider = BrokerRequestBody["provider"];

/** A whole `POST /v1/token` body: the EKM-bound attestation token and the provider's fields. */
export type BrokerRequest = BrokerRequestBody & {
  /** The attestation token whose single nonce is the connection's keying material. */
  attestation_token: string;
};

/** `200` to an Azure request. */
export interface AzureTokenReply {
  access_token: string;
  token_type: "Bearer";
  /** Expiry, seconds since the epoch. */
  expires_on: number;
  /** When to ask again, seconds from now (just after the broker refreshes the shared token). */
  refresh_in: number;
}

/** `200` to an AWS request. */
export interface AwsCredentialsReply {
  access_key_id: string;
  secret_access_key: string;
  session_token: string;
  /** Expiry, ISO 8601. */
  expiration: string;
}

/** `200` to a certificate request. */
export interface CertificateReply {
  /** PEM leaf certificate for the CSR's key. */
  certificate: string;
  /** PEM certificate of the CA that signed it (the key service trusts it). */
  ca_certificate: string;
  /** Expiry of `certificate`, ISO 8601. */
  expiration: string;
  /** When to ask for a new certificate, seconds from now. */
  refresh_in: number;
  /** Name of the grant the certificate was issued under. */
  grant: string;
}

/** The `200` reply body of each provider. */
export interface BrokerReplies {
  azure: AzureTokenReply;
  aws: AwsCredentialsReply;
  certificate: CertificateReply;
}

/** The `200` reply body for provider `P`. */
export type BrokerReply<P extends BrokerProvider = BrokerProvider> = BrokerReplies[P];

/**
 * A reply as it arrives, before the workload has checked it: every field may be missing
 * or of any type. Reading a field the protocol does not define is a type error.
 */
export type UncheckedReply<T> = { readonly [K in keyof T]?: unknown };

/** The `error` codes of a refusal, and the HTTP status each comes with. */
export const BROKER_ERROR_STATUS = {
  invalid_request: 400,
  invalid_token: 401,
  access_denied: 403,
  request_too_large: 413,
  rate_limited: 429,
  server_error: 500,
  upstream_unavailable: 503,
  verifier_unavailable: 503,
} as const;

/** The `error` code of a refusal. */
export type BrokerErrorReplyCode = keyof typeof BROKER_ERROR_STATUS;

/**
 * A refusal: `{"error","error_description","check"?}` (with `Retry-After` on 429 and 503).
 * `error_description` is written by the broker and never carries a token or a secret.
 */
export interface BrokerErrorReply {
  error: BrokerErrorReplyCode;
  error_description: string;
  /** The attestation check that failed (`image_digest`, `nonce`, …), on `401 invalid_token`. */
  check?: string;
}

/** Keys of `T` other than `provider`. */
type FieldsOf<T> = Exclude<keyof T, "provider">;
/** `true` when the tuple `L` lists exactly the keys `K` (none missing, none extra). */
type ListsExactly<L extends readonly PropertyKey[], K extends PropertyKey> = [K] extends [L[number]]
  ? [L[number]] extends [K]
    ? true
    : false
  : false;

/**
 * The fields each provider's body may carry besides `attestation_token` and `provider`:
 * the broker refuses any other. Checked against the body types above at compile time.
 */
export const BROKER_REQUEST_FIELDS = {
  azure: ["scope"],
  aws: ["role_arn", "session_name", "duration_seconds"],
  certificate: ["csr", "lifetime_seconds"],
} as const satisfies { [P in BrokerProvider]: readonly FieldsOf<Extract<BrokerRequestBody, { provider: P }>>[] };

// Fails to compile when a list above misses a field of its body type.
const _exhaustive: {
  [P in BrokerProvider]: ListsExactly<
    (typeof BROKER_REQUEST_FIELDS)[P],
    FieldsOf<Extract<BrokerRequestBody, { provider: P }>>
  >;
} = { azure: true, aws: true, certificate: true };
void _exhaustive;
