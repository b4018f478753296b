import type { ServerResponse } from "node:http";
import type { RequestOutcome } from "../metrics.js";
import { sendJson } from "./http.js";

const STATUS: Record<Exclude<RequestOutcome, "ok" | "client_closed">, number> = {
  invalid_request: 400,
  invalid_token: 401,
  access_denied: 403,
  request_too_large: 413,
  rate_limited: 429,
  upstream_unavailable: 503,
  verifier_unavailable: 503,
  server_error: 500,
};

/**
 * A refusal the broker sends as `{"error","error_description"[,"check"]}`. The description
 * is written by the broker (or is a verifier message, which names checks, never values):
 * it never carries a token, a secret or upstream error text.
 */
export class ReplyError extends Error {
  readonly status: number;

  constructor(
    readonly error: Exclude<RequestOutcome, "ok" | "client_closed">,
    readonly description: string,
    readonly extra: { check?: string; retryAfterMs?: number; closeConnection?: boolean } = {},
  ) {
    super(description);
    this.status = STATUS[error];
  }

  send(res: ServerResponse): void {
    const headers: Record<string, string | number> = {};
    if (this.extra.retryAfterMs !== undefined) {
      headers["retry-after"] = Math.max(1, Math.ceil(this.extra.retryAfterMs / 1000));
    }
    if (this.status === 401) headers["www-authenticate"] = 'Attestation error="invalid_token"';
    if (this.extra.closeConnection) headers.connection = "close";
    const body: Record<string, string> = { error: this.error, error_description: this.description };
    if (this.extra.check !== undefined) body.check = this.extra.check;
    sendJson(res, this.status, body, headers);
  }
}
