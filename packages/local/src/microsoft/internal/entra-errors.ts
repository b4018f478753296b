import { randomUUID } from "node:crypto";

/** An OAuth error the local Entra endpoint answers with. */
export interface EntraFailure {
  status: number;
  error: string;
  code: number;
  /** Text after `AADSTSnnnn: `. Never contains a secret or a token. */
  message: string;
}

/** The JSON body Microsoft Entra sends with a failed token request. */
export interface EntraErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
}

/**
 * Renders a failure the way Entra does: the description starts with the AADSTS code
 * and ends with trace id, correlation id and timestamp lines.
 */
export function entraErrorBody(failure: EntraFailure, correlationId: string, now: number): EntraErrorBody {
  const traceId = randomUUID();
  const timestamp = new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z");
  return {
    error: failure.error,
    error_description:
      `AADSTS${failure.code}: ${failure.message}\r\n` +
      `Trace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp.replace("T", " ")}`,
    error_codes: [failure.code],
    timestamp: timestamp.replace("T", " "),
    trace_id: traceId,
    correlation_id: correlationId,
  };
}

export const entraFailures = {
  unknownTenant: (tenant: string): EntraFailure => ({
    status: 400,
    error: "invalid_request",
    code: 90002,
    message: `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
  }),
  unknownTenantDiscovery: (tenant: string): EntraFailure => ({
    status: 400,
    error: "invalid_tenant",
    code: 90002,
    message: `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
  }),
  missingParameter: (name: string): EntraFailure => ({
    status: 400,
    error: "invalid_request",
    code: 900144,
    message: `The request body must contain the following parameter: '${name}'.`,
  }),
  unsupportedGrantType: (): EntraFailure => ({
    status: 400,
    error: "unsupported_grant_type",
    code: 70003,
    message: "The app requested an unsupported grant type. This endpoint only supports 'client_credentials'.",
  }),
  invalidScope: (scope: string, why: string): EntraFailure => ({
    status: 400,
    error: "invalid_scope",
    code: 70011,
    message: `The provided value for the input parameter 'scope' is not valid. The scope '${scope}' is not valid. ${why}`,
  }),
  unknownClient: (clientId: string, tenant: string): EntraFailure => ({
    status: 400,
    error: "unauthorized_client",
    code: 700016,
    message:
      `Application with identifier '${clientId}' was not found in the directory '${tenant}'. ` +
      "This can happen if the application has not been installed by the administrator of the tenant.",
  }),
  noClientCredential: (): EntraFailure => ({
    status: 401,
    error: "invalid_client",
    code: 7000218,
    message:
      "The request body must contain exactly one of the following parameters: 'client_assertion' or 'client_secret'.",
  }),
  wrongSecret: (clientId: string): EntraFailure => ({
    status: 401,
    error: "invalid_client",
    code: 7000215,
    message:
      "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, " +
      `not the client secret ID, for a secret added to app '${clientId}'.`,
  }),
  /** Every assertion problem but its time range (`message` says which, Entra-style). */
  badAssertion: (message: string): EntraFailure => ({
    status: 401,
    error: "invalid_client",
    code: 700027,
    message,
  }),
  assertionTimeRange: (): EntraFailure => ({
    status: 401,
    error: "invalid_client",
    code: 700024,
    message: "Client assertion is not within its valid time range.",
  }),
} as const;
