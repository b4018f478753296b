import {
  type AttestationTokenSource,
  decodeClaims,
  LauncherError,
  TokenExpiredError,
  TokenFileError,
} from "@confspace/attestation";
import {
  type Clock,
  ConfspaceError,
  CredentialUnavailableError,
  type Logger,
  TokenUnavailableError,
} from "@confspace/core";
import type { SubjectTokenSupplier } from "google-auth-library";
import { GcpFederationError } from "../errors.js";

/** Context of the client a supplier serves. */
export interface SupplierContext {
  audience: string;
  serviceAccount: string | undefined;
  clock: Clock;
  logger: Logger;
}

/**
 * google-auth-library's `subject_token_supplier`: called once per refresh, it asks the
 * attestation token source (which re-reads the launcher's file when it changes and never
 * returns an expired or partly written token) and checks the token's `exp` once more, so
 * an injected source cannot hand STS a stale token. Failures become
 * {@link GcpFederationError} (`subject-token`) with the attestation error as `cause`.
 */
export function attestationTokenSupplier(
  source: AttestationTokenSource,
  context: SupplierContext,
): SubjectTokenSupplier {
  return {
    getSubjectToken: async () => {
      let token: string;
      try {
        token = await source.getToken();
        const { exp } = decodeClaims(token);
        if (typeof exp !== "number" || exp * 1000 <= context.clock.now()) {
          throw new TokenExpiredError(
            typeof exp === "number" ? exp * 1000 : 0,
            "The attestation token source returned a token that has already expired (or has no exp); it was not sent to STS.",
          );
        }
      } catch (error) {
        throw subjectTokenError(error, context);
      }
      context.logger.debug("attestation token obtained for the STS exchange", { audience: context.audience });
      return token;
    },
  };
}

function subjectTokenError(error: unknown, context: SupplierContext): GcpFederationError {
  const retryable = isRetryable(error);
  const reason = error instanceof ConfspaceError ? error.code : error instanceof Error ? error.name : "unknown";
  const detail = error instanceof ConfspaceError ? error.message : "the token source failed";
  context.logger.warn("no usable attestation token for the STS exchange", {
    audience: context.audience,
    reason,
    retryable,
  });
  return new GcpFederationError(`No attestation token to exchange at ${context.audience}: ${detail}`, {
    stage: "subject-token",
    audience: context.audience,
    serviceAccount: context.serviceAccount,
    status: retryable ? 503 : 401,
    reason,
    retryable,
    cause: error,
  });
}

function isRetryable(error: unknown): boolean {
  if (error instanceof CredentialUnavailableError || error instanceof TokenExpiredError) return false;
  if (error instanceof TokenFileError) return error.code === "ERR_TOKEN_FILE_INVALID";
  if (error instanceof TokenUnavailableError) return true;
  if (error instanceof LauncherError) {
    return error.code === "ERR_LAUNCHER_TIMEOUT" || error.status === undefined || error.status >= 500;
  }
  return false;
}
