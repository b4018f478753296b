import { ConfspaceError, type ConfspaceErrorOptions, InvalidOptionError } from "@confspace/core";

/** Where a federated token refresh failed. */
export type GcpFederationStage = "subject-token" | "sts" | "impersonation";

/** Options of {@link GcpFederationError}. */
export interface GcpFederationErrorOptions extends ConfspaceErrorOptions {
  stage: GcpFederationStage;
  /** The provider's resource name. */
  audience: string;
  serviceAccount?: string;
  status: number | undefined;
  reason: string;
  description?: string;
  retryable: boolean;
}

const CODES = {
  "subject-token": "ERR_GCP_SUBJECT_TOKEN",
  sts: "ERR_GCP_STS",
  impersonation: "ERR_GCP_IMPERSONATION",
} as const;

/**
 * A federated access token could not be obtained. `stage` says where:
 *
 * - `subject-token` (`ERR_GCP_SUBJECT_TOKEN`): no usable attestation token; `cause` is the
 *   `@confspace/attestation` error (a `CredentialUnavailableError` when there is no token
 *   here at all), `reason` its code.
 * - `sts` (`ERR_GCP_STS`): Google's Security Token Service refused the exchange or could not
 *   be reached; `reason` is its OAuth error (`invalid_grant`, `unauthorized_client`,
 *   `invalid_target`, `invalid_request`) or the network error's code.
 * - `impersonation` (`ERR_GCP_IMPERSONATION`): IAM Credentials `generateAccessToken` refused;
 *   `reason` is Google's canonical status (`PERMISSION_DENIED`, `UNAUTHENTICATED`, …).
 *
 * Thrown by the client's `getAccessToken()`/`getRequestHeaders()`; inside an API call of a
 * Google Cloud client it is the `cause` of that client's error (see {@link toGoogleApiError}).
 */
export class GcpFederationError extends ConfspaceError {
  declare readonly code: (typeof CODES)[GcpFederationStage];
  readonly stage: GcpFederationStage;
  /** The workload identity pool provider the exchange was for. */
  readonly audience: string;
  /** The impersonated service account, if any. */
  readonly serviceAccount: string | undefined;
  /**
   * HTTP status. For `sts` and `impersonation`: Google's reply (`undefined` when none
   * arrived). For `subject-token`: 503 when trying again may help (file mid-rotation,
   * launcher busy) and 401 when it cannot (no token here), so Google's client libraries,
   * which turn this status into a gRPC code, retry only the former.
   */
  readonly status: number | undefined;
  /** Google's error code (OAuth `error` for STS, canonical status for IAM), or the cause's code. */
  readonly reason: string;
  /** Google's explanation (`error_description` / `error.message`), at most 512 characters; never a token. */
  readonly description: string | undefined;
  /** Whether a later attempt may succeed (5xx, 429, network, a token file mid-rotation). */
  readonly retryable: boolean;

  constructor(message: string, options: GcpFederationErrorOptions) {
    super(CODES[options.stage], message, options);
    this.stage = options.stage;
    this.audience = options.audience;
    this.serviceAccount = options.serviceAccount;
    this.status = options.status;
    this.reason = options.reason;
    this.description = options.description;
    this.retryable = options.retryable;
  }
}

/** `google.rpc.ErrorInfo` of a Google API error. */
export interface GoogleErrorInfo {
  /** e.g. `IAM_PERMISSION_DENIED`, `ACCESS_TOKEN_SCOPE_INSUFFICIENT`. */
  reason: string;
  /** e.g. `cloudkms.googleapis.com`. */
  domain: string | undefined;
  metadata: Record<string, string>;
}

/** Options of {@link GoogleApiError}. */
export interface GoogleApiErrorOptions extends ConfspaceErrorOptions {
  status: number | undefined;
  reason: string;
  grpcCode: number | undefined;
  errorInfo?: GoogleErrorInfo;
  description?: string;
}

/**
 * A Google Cloud API (KMS, Storage, …) refused a call made with a federated client.
 * `reason` is Google's canonical status (`PERMISSION_DENIED`, `INVALID_ARGUMENT`,
 * `UNAUTHENTICATED`, …), `status` the HTTP status, `grpcCode` the numeric code the Node
 * clients use; `cause` is the client library's error. Code `ERR_GOOGLE_API`. Made by
 * {@link toGoogleApiError}.
 */
export class GoogleApiError extends ConfspaceError {
  declare readonly code: "ERR_GOOGLE_API";
  /** HTTP status of Google's reply, when known. */
  readonly status: number | undefined;
  /** Canonical status name, e.g. `PERMISSION_DENIED`. */
  readonly reason: string;
  /** gRPC status code (7 for `PERMISSION_DENIED`), when known. */
  readonly grpcCode: number | undefined;
  /** The reply's `ErrorInfo` detail, when Google sent one. */
  readonly errorInfo: GoogleErrorInfo | undefined;
  /** Google's message, at most 512 characters. */
  readonly description: string | undefined;

  constructor(message: string, options: GoogleApiErrorOptions) {
    super("ERR_GOOGLE_API", message, options);
    this.status = options.status;
    this.reason = options.reason;
    this.grpcCode = options.grpcCode;
    this.errorInfo = options.errorInfo;
    this.description = options.description;
  }
}

/**
 * An option is missing, malformed or contradicts another; `option` names it and `envVar`
 * the environment variable that could have supplied it. Thrown when the client is created.
 * Code `ERR_INVALID_OPTION`.
 */
export class GcpFederationOptionError extends InvalidOptionError {}
