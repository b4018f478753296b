import { redactString } from "@confspace/core";
import { GcpFederationError } from "../errors.js";

/** What the client knows when classifying a failed refresh. */
export interface RefreshContext {
  audience: string;
  serviceAccount: string | undefined;
  impersonationUrl: string | undefined;
}

interface HttpFailure {
  config?: { url?: unknown };
  response?: { status?: unknown; data?: unknown };
  code?: unknown;
}

const STS_HINTS: Record<string, string> = {
  invalid_grant:
    "STS did not accept the attestation token (issuer, audience, signature or expiry): check the provider's issuer URI (https://confidentialcomputing.googleapis.com/) and allowed audiences (https://sts.googleapis.com for the default token).",
  unauthorized_client:
    "The provider's attribute condition or mapping rejected this workload: compare the condition with the token's claims (decodeClaims), e.g. image digest, support attributes, service account.",
  invalid_target: "The pool or provider does not exist or is disabled: check the audience.",
  invalid_request: "STS refused the request's form: check the audience and scopes.",
};

/** Google's explanation, length-capped and scrubbed of anything token-like. */
export function capDescription(text: unknown): string | undefined {
  if (typeof text !== "string" || text === "") return undefined;
  const scrubbed = redactString(text);
  return scrubbed.length > 512 ? `${scrubbed.slice(0, 511)}…` : scrubbed;
}

/**
 * Turns what google-auth-library threw during a refresh into a {@link GcpFederationError}:
 * an impersonation failure when the failed request went to `generateAccessToken`, an STS
 * failure otherwise. Errors already classified pass through.
 */
export function refreshError(error: unknown, context: RefreshContext): unknown {
  if (error instanceof GcpFederationError) return error;
  if (!(error instanceof Error)) return error;
  const failure = error as Error & HttpFailure;
  scrubRequest(failure.config);
  scrubRequest((failure.response as { config?: unknown } | undefined)?.config);
  const url = failure.config?.url === undefined ? undefined : String(failure.config.url);
  const stage = context.impersonationUrl !== undefined && url === context.impersonationUrl ? "impersonation" : "sts";
  const status = typeof failure.response?.status === "number" ? failure.response.status : undefined;
  const data = failure.response?.data as Record<string, unknown> | undefined;
  let reason: string;
  let description: string | undefined;
  if (stage === "sts" && typeof data?.error === "string") {
    reason = data.error;
    description = capDescription(data.error_description);
  } else if (data && typeof data.error === "object" && data.error !== null) {
    const googleError = data.error as { status?: unknown; message?: unknown };
    reason = typeof googleError.status === "string" ? googleError.status : `HTTP_${status ?? "ERROR"}`;
    description = capDescription(googleError.message);
  } else if (status !== undefined) {
    reason = `HTTP_${status}`;
  } else {
    reason = typeof failure.code === "string" ? failure.code : error.name;
  }
  const retryable = status === undefined || status >= 500 || status === 429 || status === 408;
  const message =
    stage === "sts"
      ? `Google STS did not exchange the attestation token for provider ${context.audience}: ${reason}${status ? ` (HTTP ${status})` : ""}. ${STS_HINTS[reason] ?? (retryable ? "STS was unreachable or failed; it is retried on the next call." : "See description.")}`
      : `IAM Credentials did not issue a token for ${context.serviceAccount}: ${reason}${status ? ` (HTTP ${status})` : ""}. ${reason === "PERMISSION_DENIED" ? `Grant roles/iam.workloadIdentityUser on the service account to this workload's principal or principalSet in the pool of ${context.audience}.` : "See description."}`;
  return new GcpFederationError(message, {
    stage,
    audience: context.audience,
    serviceAccount: context.serviceAccount,
    status,
    reason,
    description,
    retryable,
    cause: error,
  });
}

const REDACTED = "<redacted by confspace>";

/**
 * google-auth-library's errors keep the failed request: for STS its form body holds the
 * attestation token (gaxios's own redactor only masks `grant_type`/`assertion`), for IAM
 * Credentials its headers hold the federated access token. They become our `cause`, so
 * mask both before anyone can log them.
 */
function scrubRequest(config: unknown): void {
  if (config === null || typeof config !== "object") return;
  const request = config as { data?: unknown; body?: unknown; headers?: unknown };
  for (const key of ["data", "body"] as const) {
    const value = request[key];
    if (value instanceof URLSearchParams) {
      for (const field of ["subject_token", "actor_token"]) if (value.has(field)) value.set(field, REDACTED);
    } else if (typeof value === "string" && /(^|&)(subject|actor)_token=/.test(value)) {
      request[key] = value.replace(/((?:^|&)(?:subject|actor)_token=)[^&]*/g, `$1${REDACTED}`);
    } else if (value !== null && typeof value === "object" && "subject_token" in value) {
      (value as Record<string, unknown>).subject_token = REDACTED;
    }
  }
  const headers = request.headers;
  if (headers instanceof Headers) {
    if (headers.has("authorization")) headers.set("authorization", REDACTED);
  } else if (headers !== null && typeof headers === "object") {
    for (const name of Object.keys(headers)) {
      if (name.toLowerCase() === "authorization") (headers as Record<string, unknown>)[name] = REDACTED;
    }
  }
}
