import type { ServerResponse } from "node:http";
import { BROKER_ERROR_STATUS, type BrokerErrorReply, type BrokerErrorReplyCode } from "@confspace/ekm-tls";
import { sendJson } from "./http.js";

/**
 * A refusal the broker sends as `{"error","error_description"[,"check"]}`. The description
 * is written by the broker (or is a verifier message, which names checks, never values):
 * it never carries a token, a secret or upstream error text.
 */
export class ReplyError extends Error {
  readonly status: number;

  constructor(
    readonly error: BrokerErrorReplyCode,
    readonly description: string,
    readonly extra: { check?: string; retryAfterMs?: number; closeConnection?: boolean } = {},
  ) {
    super(description);
    this.status = BROKER_ERROR_STATUS[error];
  }

  send(res: ServerResponse): void {
    const headers: Record<string, string | number> = {};
    if (this.extra.retryAfterMs !== undefined) {
      headers["retry-after"] = Math.max(1, Math.ceil(this.extra.retryAfterMs / 1000));
    }
    if (this.status === 401) headers["www-authenticate"] = 'Attestation error="invalid_token"';
    if (this.extra.closeConnection) headers.connection = "close";
    const body: BrokerErrorReply = { error: this.error, error_description: this.description };
    if (this.extra.check !== undefined) body.check = this.extra.check;
    sendJson(res, this.status, body, headers);
  }
}
