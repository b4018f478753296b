// Vault's wire shapes for the key service: the reply envelope, `{"errors":[…]}` refusals,
// and strict reading of a JSON body.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { BodyReadError, BodyTooLargeError, readBody } from "../internal/http.js";
import { KeyringError } from "./keyring.js";
import type { KeyRequestOutcome } from "./metrics.js";

/** A request body: a JSON object. */
export type Body = Record<string, unknown>;

/** A refusal, sent as Vault does: `{"errors":["…"]}`. Messages never hold plaintext or key material. */
export class TransitError extends Error {
  constructor(
    readonly status: number,
    readonly outcome: Exclude<KeyRequestOutcome, "ok" | "client_closed">,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Vault's response envelope. */
export function vaultReply(data: Record<string, unknown> | null) {
  return {
    request_id: randomUUID(),
    lease_id: "",
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings: null,
    auth: null,
  };
}

/** Reads the body as a JSON object (empty: `{}`). @throws {TransitError} 400 not JSON or not an object. */
export async function readJson(req: IncomingMessage, limit: number): Promise<Body> {
  const raw = await readBody(req, limit);
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new TransitError(400, "invalid_request", "failed to parse JSON input: the body is not JSON");
  } finally {
    raw.fill(0);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new TransitError(400, "invalid_request", "failed to parse JSON input: the body must be a JSON object");
  }
  return parsed as Body;
}

const UNSUPPORTED: Record<string, string> = {
  batch_input: "batch_input is not supported: send one request per item",
  context: "context is not supported: the keys of this service are not derived per context",
  nonce: "nonce is not supported: every encryption draws a fresh random nonce",
  associated_data: "associated_data is not supported",
  convergent_encryption: "convergent_encryption is not supported",
  type: "type is not supported: every key is aes256-gcm96",
  reference: "reference is not supported",
};

/** Refuses fields other than `allowed`, naming why a transit option is not supported. */
export function allowOnly(body: Body, allowed: readonly string[]): void {
  for (const field of Object.keys(body)) {
    if (allowed.includes(field)) continue;
    throw new TransitError(
      400,
      "invalid_request",
      UNSUPPORTED[field] ?? `unknown field ${JSON.stringify(field.slice(0, 64))}`,
    );
  }
}

/** The reply of any error: refusals as they are, everything else a 500 that says nothing. */
export function toTransitError(error: unknown): TransitError {
  if (error instanceof TransitError) return error;
  if (error instanceof KeyringError) return new TransitError(400, "invalid_ciphertext", error.message);
  if (error instanceof BodyTooLargeError) {
    return new TransitError(413, "request_too_large", `the body exceeds ${error.limitBytes} bytes`);
  }
  if (error instanceof BodyReadError)
    return new TransitError(400, "invalid_request", "the request body could not be read");
  return new TransitError(500, "server_error", "internal error; retry later");
}
