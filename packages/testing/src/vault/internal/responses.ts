import { randomUUID } from "node:crypto";

/** A Vault error answer: `{"errors": [...]}` with a status. */
export class VaultHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errors: string[],
    readonly body?: Record<string, unknown>,
  ) {
    super(errors.join("; "));
  }
}

/** 400 with one message, Vault's `logical.ErrorResponse` + `ErrInvalidRequest`. */
export const badRequest = (message: string) => new VaultHttpError(400, [message]);

/** 403 `permission denied`: a valid token without the capability (ACL), or a CIDR mismatch at login. */
export const permissionDenied = () => new VaultHttpError(403, ["permission denied"]);

/**
 * 403 for a token that is unknown, revoked or expired. Vault (1.16+) joins both reasons
 * with go-multierror's format, as its docs on token error responses describe.
 */
export const invalidToken = () =>
  new VaultHttpError(403, ["2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"]);

/** 404 for a path no mount or engine serves. */
export const noHandler = (path: string) =>
  new VaultHttpError(404, [`no handler for route "${path}". route entry not found.`]);

/** What an engine handler answers. `undefined` means Vault's nil response (204 for writes, 404 `{"errors":[]}` for reads). */
export interface HandlerResult {
  /** Status other than 200 (e.g. 404 with data for a deleted KV version). */
  status?: number;
  data?: unknown;
  auth?: unknown;
  warnings?: string[];
  mountType?: string;
}

/** Vault's response envelope (http/logical.go `LogicalResponse`). */
export function envelope(result: HandlerResult): Record<string, unknown> {
  return {
    request_id: randomUUID(),
    lease_id: "",
    renewable: false,
    lease_duration: 0,
    data: result.data ?? null,
    wrap_info: null,
    warnings: result.warnings && result.warnings.length > 0 ? result.warnings : null,
    auth: result.auth ?? null,
    mount_type: result.mountType ?? "",
  };
}

/** Vault's RFC 3339 timestamps with nanoseconds (`2026-01-01T00:00:00.123000000Z`). */
export function vaultTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
}
