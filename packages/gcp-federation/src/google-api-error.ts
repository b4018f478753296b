import { GcpFederationError, GoogleApiError, type GoogleErrorInfo } from "./errors.js";
import { capDescription } from "./internal/refresh-error.js";

/** gRPC status names by number (google.rpc.Code). */
const CANONICAL = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

const HINTS: Partial<Record<string, string>> = {
  PERMISSION_DENIED:
    "The caller lacks the IAM permission on the resource, or the resource does not exist. For a federated workload, check the resource's bindings for its principal:// or principalSet:// member (attribute values such as the image reference or digest must match exactly).",
  UNAUTHENTICATED: "Google did not accept the access token.",
  INVALID_ARGUMENT: "Google refused the request's content (for KMS decrypt: another key, AAD or damaged ciphertext).",
  NOT_FOUND: "The resource does not exist.",
  UNAVAILABLE: "The service was unreachable; the client library retries this.",
};

interface GaxLike {
  code?: unknown;
  httpStatusCode?: unknown;
  message?: unknown;
  reason?: unknown;
  domain?: unknown;
  errorInfoMetadata?: unknown;
  response?: { status?: unknown; data?: unknown };
  cause?: unknown;
}

/**
 * Reads the typed error out of whatever a Google Cloud client threw for a call made with a
 * federated client:
 *
 * - the {@link GcpFederationError} when the federated token could not be obtained (the
 *   client wraps it; it is found in the `cause` chain), keeping STS's `reason`
 *   (`unauthorized_client`, `invalid_grant`, …);
 * - otherwise a {@link GoogleApiError} with Google's canonical `reason`
 *   (`PERMISSION_DENIED`, …), HTTP `status` and `ErrorInfo`, for google-gax errors
 *   (`@google-cloud/kms` and other GAPIC clients, REST or gRPC) and gaxios errors;
 * - `undefined` for anything else (a programming error, an abort).
 *
 * @example
 * ```ts
 * try {
 *   await kms.decrypt({ name, ciphertext });
 * } catch (error) {
 *   const typed = toGoogleApiError(error);
 *   if (typed?.reason === "PERMISSION_DENIED") refuse();
 *   else throw typed ?? error;
 * }
 * ```
 */
export function toGoogleApiError(error: unknown): GcpFederationError | GoogleApiError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== null && typeof current === "object"; depth++) {
    if (current instanceof GcpFederationError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  if (error instanceof GoogleApiError) return error;
  if (!(error instanceof Error)) return undefined;
  const candidate = error as Error & GaxLike;

  let status = typeof candidate.httpStatusCode === "number" ? candidate.httpStatusCode : undefined;
  let grpcCode = typeof candidate.code === "number" && candidate.code < CANONICAL.length ? candidate.code : undefined;
  let reason: string | undefined = grpcCode === undefined ? undefined : CANONICAL[grpcCode];
  let description = capDescription(candidate.message);
  let errorInfo: GoogleErrorInfo | undefined;
  if (typeof candidate.reason === "string") {
    errorInfo = {
      reason: candidate.reason,
      domain: typeof candidate.domain === "string" ? candidate.domain : undefined,
      metadata: (candidate.errorInfoMetadata as Record<string, string> | undefined) ?? {},
    };
  }

  // gaxios (google-auth-library transports, REST clients built on it): { error: { code, message, status } }.
  const body = candidate.response?.data as
    | { error?: { status?: unknown; message?: unknown; details?: unknown } }
    | undefined;
  if (reason === undefined && body && typeof body.error === "object" && body.error !== null) {
    if (typeof body.error.status === "string") reason = body.error.status;
    description = capDescription(body.error.message) ?? description;
    const info = Array.isArray(body.error.details)
      ? (body.error.details as Array<Record<string, unknown>>).find((d) =>
          String(d["@type"]).endsWith("google.rpc.ErrorInfo"),
        )
      : undefined;
    if (info && typeof info.reason === "string") {
      errorInfo = {
        reason: info.reason,
        domain: typeof info.domain === "string" ? info.domain : undefined,
        metadata: (info.metadata as Record<string, string> | undefined) ?? {},
      };
    }
    if (reason !== undefined) grpcCode = CANONICAL.indexOf(reason as (typeof CANONICAL)[number]);
  }
  status ??= typeof candidate.response?.status === "number" ? candidate.response.status : undefined;
  if (reason === undefined) return undefined;
  if (grpcCode === -1) grpcCode = undefined;
  return new GoogleApiError(
    `Google API call failed: ${reason}${status ? ` (HTTP ${status})` : ""}${errorInfo ? ` [${errorInfo.reason}]` : ""}. ${HINTS[reason] ?? "See description."}`,
    { status, reason, grpcCode, errorInfo, description, cause: error },
  );
}
