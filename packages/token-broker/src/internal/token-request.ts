import { ConfspaceError } from "@confspace/core";
import { BROKER_REQUEST_FIELDS, type BrokerProvider } from "@confspace/ekm-tls";
import type { AnyProvider } from "../providers/provider.js";

/**
 * The request body is malformed: not a JSON object, an unknown field, a missing or
 * mistyped one. Code `ERR_INVALID_REQUEST`; the broker answers `400 invalid_request`
 * with this message. The message names fields, never their values. (Not the attestation
 * package's `InvalidTokenRequestError`, which refuses a launcher token request's options.)
 */
export class InvalidBrokerRequestError extends ConfspaceError {
  declare readonly code: "ERR_INVALID_REQUEST";

  constructor(message: string) {
    super("ERR_INVALID_REQUEST", message);
  }
}

/** A parsed, well-formed `POST /v1/token` body: the provider that reads it and its request. */
export interface TokenRequest {
  provider: AnyProvider;
  /** The EKM-bound attestation token. */
  attestationToken: string;
  /** What `provider.readRequest` made of the provider's fields. */
  request: unknown;
}

/** Longest attestation token read, bytes (the verifier has its own, smaller, limit). */
const MAX_TOKEN_LENGTH = 65_536;
const COMMON_FIELDS = ["attestation_token", "provider"];

/** The providers by name, with each one's allowed fields: built once per broker. */
export type RequestParser = (body: Buffer | string) => TokenRequest;

/**
 * A parser of `POST /v1/token` bodies (protocol v1) for these providers:
 * `{"attestation_token","provider", …the provider's fields}`. Unknown providers, unknown
 * fields and wrong types are refused; the provider's `readRequest` reads its fields.
 */
export function requestParser(providers: readonly AnyProvider[]): RequestParser {
  const byName = new Map<string, { provider: AnyProvider; fields: ReadonlySet<string> }>();
  for (const provider of providers) {
    const fields = BROKER_REQUEST_FIELDS[provider.name as BrokerProvider] as readonly string[];
    byName.set(provider.name, { provider, fields: new Set([...COMMON_FIELDS, ...fields]) });
  }
  const names = providers.map((p) => JSON.stringify(p.name));
  const choice = names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;

  return (body) => {
    let value: unknown;
    try {
      value = JSON.parse(typeof body === "string" ? body : body.toString("utf8"));
    } catch {
      throw new InvalidBrokerRequestError("the body is not valid JSON");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new InvalidBrokerRequestError("the body must be a JSON object");
    }
    const o = value as Record<string, unknown>;
    const entry = typeof o.provider === "string" ? byName.get(o.provider) : undefined;
    if (entry === undefined) throw new InvalidBrokerRequestError(`"provider" must be ${choice}`);
    for (const key of Object.keys(o)) {
      if (!entry.fields.has(key)) {
        throw new InvalidBrokerRequestError(
          `unknown field ${JSON.stringify(key.slice(0, 64))} for provider ${entry.provider.name}`,
        );
      }
    }
    const attestationToken = requiredString(o, "attestation_token", MAX_TOKEN_LENGTH);
    return { provider: entry.provider, attestationToken, request: entry.provider.readRequest(o) };
  };
}

/**
 * A required non-empty string field of at most `maxLength` characters.
 *
 * @throws {InvalidBrokerRequestError} naming the field.
 */
export function requiredString<F extends string>(
  o: { readonly [K in F]?: unknown },
  field: F,
  maxLength: number,
): string {
  const value = o[field];
  if (value === undefined) throw new InvalidBrokerRequestError(`"${field}" is required`);
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidBrokerRequestError(`"${field}" must be a non-empty string`);
  }
  if (value.length > maxLength)
    throw new InvalidBrokerRequestError(`"${field}" is longer than ${maxLength} characters`);
  return value;
}

/**
 * An optional integer field from `min` to `max`.
 *
 * @throws {InvalidBrokerRequestError} naming the field and the range.
 */
export function optionalInteger<F extends string>(
  o: { readonly [K in F]?: unknown },
  field: F,
  min: number,
  max: number,
): number | undefined {
  const value = o[field];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidBrokerRequestError(`"${field}" must be an integer from ${min} to ${max}`);
  }
  return value;
}
