import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { InvalidOptionError } from "@confspace/core";
import { BodyTooLargeError, isFormEncoded, readBody, sendJson, serveOnLoopback } from "../internal/http.js";
import {
  FaultQueue,
  type LocalRequest,
  type LocalServer,
  localServerHandle,
  newRequestRecord,
  type QueuedFault,
  sendVerbatimFault,
  sleep,
} from "../internal/local-server.js";
import { createSigningKey, type EntraSigningKey } from "./internal/entra-access-token.js";
import { type RegisteredClient, registerClient } from "./internal/entra-client-auth.js";
import { type EntraFailure, entraErrorBody, entraFailures } from "./internal/entra-errors.js";
import { clientCredentialsGrant } from "./internal/entra-token-endpoint.js";

/** An application registered in the local tenant. */
export interface LocalEntraClient {
  /** Application (client) id, usually a GUID. */
  clientId: string;
  /** Client secret accepted as `client_secret`. At least one of secret and certificate is required. */
  clientSecret?: string;
  /** PEM certificate (RSA) whose key signs `client_assertion` JWTs; matched by `x5t` / `x5t#S256`. */
  certificatePem?: string;
}

/** Options of {@link startLocalEntra}. */
export interface LocalEntraOptions {
  /** The only tenant this endpoint knows; any other tenant in a path is rejected (AADSTS90002). */
  tenantId: string;
  /** Registered applications. */
  clients: LocalEntraClient[];
  /** `expires_in` of issued tokens (seconds). Default 3600. */
  tokenLifetimeSeconds?: number;
  /** When set, token responses carry `refresh_in` (seconds), as Entra sends for long-lived tokens. Default: absent. */
  refreshInSeconds?: number;
  /** Server certificate and key (PEM); the certificate must be valid for `localhost`. */
  tls: { cert: string; key: string };
  /** Time source (ms since the epoch) for issued tokens and assertion checks. Default `Date.now`. */
  clock?: () => number;
}

/**
 * One request the endpoint received, with the form fields of a token request. Never
 * holds a secret, an assertion or a token; `error` is the OAuth `error` of a refusal.
 */
export interface LocalEntraRequest extends LocalRequest {
  grantType?: string;
  clientId?: string;
  scope?: string;
}

/**
 * A running local Microsoft Entra token endpoint. Faults and delays reach the token
 * endpoint only (discovery and keys stay up); a fault without `body` answers Entra's
 * error JSON with `error` = `code` (default `temporarily_unavailable` for 5xx and 429,
 * else `invalid_request`) and `AADSTS50000: {message}`.
 */
export interface LocalEntra extends LocalServer<LocalEntraRequest> {
  /** `https://localhost:PORT`, for `authorityHost` of @azure/identity credentials. */
  readonly authorityHost: string;
  readonly port: number;
  /** Number of POSTs to the token endpoint so far (including failed ones). */
  readonly tokenRequests: number;
}

/**
 * Starts an HTTPS server on 127.0.0.1 (OS-assigned port) that follows the documented
 * contract of the Microsoft identity platform v2.0 endpoint for the client-credentials
 * grant: OpenID discovery, JWKS and `POST /{tenant}/oauth2/v2.0/token` with a client
 * secret or a certificate assertion. Issued access tokens are v1.0 JWTs (issuer
 * `https://sts.windows.net/{tenant}/`), which Azurite `--oauth basic` accepts.
 *
 * @example
 * ```ts
 * const entra = await startLocalEntra({ tenantId, clients: [{ clientId, clientSecret }], tls: { cert, key } });
 * const credential = new ClientSecretCredential(tenantId, clientId, clientSecret, {
 *   authorityHost: entra.authorityHost,
 *   disableInstanceDiscovery: true,
 * });
 * ```
 */
export async function startLocalEntra(options: LocalEntraOptions): Promise<LocalEntra> {
  if (!options.tenantId) throw new InvalidOptionError("tenantId", "startLocalEntra: tenantId is required");
  if (!options.tls?.cert || !options.tls.key)
    throw new InvalidOptionError("tls", "startLocalEntra: tls.cert and tls.key are required");
  const clients = new Map<string, RegisteredClient>();
  for (const client of options.clients) clients.set(client.clientId.toLowerCase(), registerClient(client));
  const signingKey = await createSigningKey();
  const clock = options.clock ?? Date.now;
  const state: ServerState = {
    tenantId: options.tenantId,
    clients,
    signingKey,
    clock,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3600,
    refreshInSeconds: options.refreshInSeconds,
    authorityHost: "",
    tokenRequests: 0,
    requests: [],
    faults: new FaultQueue("startLocalEntra"),
  };

  const { port, close } = await serveOnLoopback((req, res) => handle(state, req, res), {
    tls: { cert: options.tls.cert, key: options.tls.key },
    onError: (res) => sendJson(res, 500, { error: "server_error" }),
  });
  state.authorityHost = `https://localhost:${port}`;

  return {
    ...localServerHandle(state.requests, state.faults, close),
    authorityHost: state.authorityHost,
    port,
    get tokenRequests() {
      return state.tokenRequests;
    },
  };
}

interface ServerState {
  tenantId: string;
  clients: ReadonlyMap<string, RegisteredClient>;
  signingKey: EntraSigningKey;
  clock: () => number;
  tokenLifetimeSeconds: number;
  refreshInSeconds: number | undefined;
  authorityHost: string;
  tokenRequests: number;
  requests: LocalEntraRequest[];
  faults: FaultQueue;
}

const ROUTE = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|discovery\/v2\.0\/keys|oauth2\/v2\.0\/token)$/;

async function handle(state: ServerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", state.authorityHost);
  const requested = url.searchParams.get("client-request-id") ?? headerValue(req, "client-request-id");
  // Echoed in a header: only a GUID-like value, never arbitrary input.
  const correlationId = requested && /^[A-Za-z0-9-]{1,64}$/.test(requested) ? requested : randomUUID();
  const headers = { "client-request-id": correlationId, "x-ms-request-id": randomUUID() };
  const record: LocalEntraRequest = newRequestRecord(req, state.clock());
  state.requests.push(record);
  const reply = (status: number, body: unknown) => {
    record.status = status;
    sendJson(res, status, body, headers);
  };
  const fail = (failure: EntraFailure) => {
    record.error = failure.error;
    reply(failure.status, entraErrorBody(failure, correlationId, state.clock()));
  };

  const match = ROUTE.exec(url.pathname);
  if (!match) return reply(404, { error: "not_found" });
  const tenant = decodeURIComponent(match[1]!);
  const route = match[2]!;
  const knownTenant = tenant.toLowerCase() === state.tenantId.toLowerCase();

  if (route !== "oauth2/v2.0/token") {
    if (req.method !== "GET") return reply(405, { error: "method_not_allowed" });
    if (!knownTenant) return fail(entraFailures.unknownTenantDiscovery(tenant));
    const body = route.startsWith("v2.0") ? discoveryDocument(state) : state.signingKey.jwks;
    return reply(200, body);
  }

  if (req.method !== "POST") return reply(405, { error: "method_not_allowed" });
  state.tokenRequests += 1;
  const { delayMs, fault } = state.faults.take(url.pathname);
  let form: URLSearchParams;
  try {
    const text = await readBody(req);
    form = new URLSearchParams(isFormEncoded(req) ? text : "");
  } catch (error) {
    if (error instanceof BodyTooLargeError) return reply(413, { error: "request_too_large" });
    throw error;
  }
  setIfPresent(record, "grantType", form.get("grant_type"));
  setIfPresent(record, "clientId", form.get("client_id"));
  setIfPresent(record, "scope", form.get("scope"));

  await sleep(delayMs);
  if (fault) return injectFault(fault, record, res, headers, correlationId, state.clock());
  if (!knownTenant) return fail(entraFailures.unknownTenant(tenant));

  const result = await clientCredentialsGrant(form, {
    tenantId: state.tenantId,
    tokenEndpoint: tokenEndpoint(state),
    clients: state.clients,
    signingKey: state.signingKey,
    tokenLifetimeSeconds: state.tokenLifetimeSeconds,
    refreshInSeconds: state.refreshInSeconds,
    now: state.clock(),
  });
  if ("error" in result) return fail(result);
  return reply(200, result);
}

/** Answers an injected fault: verbatim, or Entra's error JSON with `code` and `message`. */
function injectFault(
  fault: QueuedFault,
  record: LocalEntraRequest,
  res: ServerResponse,
  headers: Record<string, string>,
  correlationId: string,
  now: number,
): void {
  record.status = fault.status;
  record.fault = true;
  record.error = fault.code;
  if (fault.body !== undefined) {
    sendVerbatimFault(res, { ...fault, body: fault.body, headers: { ...headers, ...fault.headers } });
    return;
  }
  const error =
    fault.code ?? (fault.status >= 500 || fault.status === 429 ? "temporarily_unavailable" : "invalid_request");
  record.error = error;
  const body = entraErrorBody({ status: fault.status, error, code: 50000, message: fault.message }, correlationId, now);
  sendJson(res, fault.status, body, { ...headers, ...fault.headers });
}

function tokenEndpoint(state: ServerState): string {
  return `${state.authorityHost}/${state.tenantId}/oauth2/v2.0/token`;
}

/** The subset of Entra's v2.0 discovery document that MSAL reads, with Entra's values. */
function discoveryDocument(state: ServerState): Record<string, unknown> {
  const base = `${state.authorityHost}/${state.tenantId}`;
  return {
    token_endpoint: tokenEndpoint(state),
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt"],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: `https://login.microsoftonline.com/${state.tenantId}/v2.0`,
    request_uri_parameter_supported: false,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    tenant_region_scope: null,
    cloud_instance_name: "microsoftonline.com",
  };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function setIfPresent(record: LocalEntraRequest, key: "grantType" | "clientId" | "scope", value: string | null): void {
  if (value !== null) record[key] = value;
}
