import type { IncomingMessage, ServerResponse } from "node:http";
import { decodeJwt } from "jose";
import { BodyTooLargeError, isFormEncoded, readBody, sendJson, serveOnLoopback } from "../internal/http.js";
import {
  FaultQueue,
  type LocalRequest,
  type LocalServer,
  localServerHandle,
  newRequestRecord,
  sendVerbatimFault,
  sleep,
} from "../internal/local-server.js";
import { exchangeToken } from "./internal/sts-token-exchange.js";
import { createWifProvider, type WifProvider } from "./internal/wif-provider.js";
import type { LocalGooglePrincipal } from "./principals.js";

/** An OIDC workload identity pool provider known to the local STS. */
export interface LocalWifProvider {
  /** Full resource name, `//iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER`. */
  audience: string;
  /** Issuer URI; subject tokens must carry exactly this `iss`. */
  issuer: string;
  /** JWKS URL. Default: `jwks_uri` of `{issuer}/.well-known/openid-configuration`. */
  jwksUri?: string;
  /**
   * Accepted `aud` values of subject tokens (at most 10). Default (empty), as Google
   * documents: the provider's full canonical resource name, with or without `https:`.
   */
  allowedAudiences?: string[];
  /**
   * Attribute mapping in CEL, as an object (`{ "google.subject": "assertion.sub" }`) or
   * gcloud's `--attribute-mapping` text (`google.subject=assertion.sub,attribute.x=…`).
   * Must map `google.subject`. Default, as Google's for OIDC: `google.subject=assertion.sub`.
   */
  attributeMapping?: string | Readonly<Record<string, string>>;
  /**
   * Attribute condition in CEL, as gcloud's `--attribute-condition` (over `assertion`,
   * `google`, `attribute`). Only `true` admits; `false` or a CEL error rejects the
   * exchange with `unauthorized_client`. Default: none (every valid token).
   */
  attributeCondition?: string;
}

/** A federated access token this server issued. */
export interface IssuedFederatedToken {
  /** The mapped `google.subject` (by default the subject token's `sub`). */
  subject: string;
  /** The mapped `google.groups` (empty when not mapped). */
  groups: string[];
  /** The mapped `attribute.NAME` values by NAME (attributes whose expression failed are absent). */
  attributes: Record<string, string | string[]>;
  /** `projects/NUMBER/locations/global/workloadIdentityPools/POOL`, as IAM members name the pool. */
  pool: string;
  /** The provider resource name the token was exchanged at. */
  audience: string;
  /** Scopes requested with the exchange. */
  scopes: string[];
  /** When the access token expires (ms since the epoch). */
  expiresAt: number;
}

/** One request, as recorded (never a token); `error` is the OAuth `error` of a refusal. */
export interface LocalGoogleStsRequest extends LocalRequest {
  /** The `audience` form field (the provider), when sent. */
  audience: string | undefined;
  /** `jti` of the subject token (unverified), to tell attestation tokens apart. */
  subjectTokenId?: string;
  /** `iat` of the subject token (unverified), seconds. */
  subjectIssuedAt?: number;
}

/** Options of {@link startLocalGoogleSts}. */
export interface LocalGoogleStsOptions {
  /** OIDC providers of workload identity pools; any other `audience` is answered `invalid_target`. */
  providers: LocalWifProvider[];
  /** `expires_in` of issued access tokens (seconds). Default 3600. */
  tokenLifetimeSeconds?: number;
  /** Time source (ms since the epoch) for subject-token checks and expiry. Default `Date.now`. */
  clock?: () => number;
}

/**
 * A running local Google Security Token Service. Faults and delays reach `/v1/token`; a
 * fault without `body` answers `{ error: code, error_description: message }` (default
 * `code`: `temporarily_unavailable` for 429 and 503, `server_error` for other 5xx, else
 * `invalid_request`).
 */
export interface LocalGoogleSts extends LocalServer<LocalGoogleStsRequest> {
  /** `http://127.0.0.1:PORT/v1/token`, for `token_url` of an external-account client. */
  readonly tokenUrl: string;
  /** Access tokens issued so far, by token, so later local Google API doubles can authorize callers. */
  readonly issued: Map<string, IssuedFederatedToken>;
  /** The federated principal an access token stands for (expired ones included), for IAM Credentials and KMS. */
  resolveAccessToken(accessToken: string): LocalGooglePrincipal | undefined;
}

/**
 * Starts an HTTP server on 127.0.0.1 (OS-assigned port) that follows the documented
 * contract of Google's STS `POST /v1/token` for OIDC workload identity federation
 * (RFC 8693 token exchange, form-encoded) and issues opaque `ya29.local-…` tokens.
 *
 * @example
 * ```ts
 * const sts = await startLocalGoogleSts({ providers: [{ audience, issuer }] });
 * const client = new IdentityPoolClient({
 *   audience,
 *   subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
 *   token_url: sts.tokenUrl,
 *   subject_token_supplier: { getSubjectToken: async () => attestationToken },
 * });
 * ```
 */
export async function startLocalGoogleSts(options: LocalGoogleStsOptions): Promise<LocalGoogleSts> {
  const providers = new Map<string, WifProvider>();
  for (const config of options.providers) providers.set(config.audience, createWifProvider(config));
  const clock = options.clock ?? Date.now;
  const tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
  const issued = new Map<string, IssuedFederatedToken>();
  const requests: LocalGoogleStsRequest[] = [];
  const faults = new FaultQueue("startLocalGoogleSts");

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const record: LocalGoogleStsRequest = { ...newRequestRecord(req, clock()), audience: undefined };
    requests.push(record);
    const reply = (status: number, body: object, error?: string) => {
      record.status = status;
      record.error = error;
      sendJson(res, status, body);
    };
    if (record.path !== "/v1/token") return reply(404, { error: "not_found" }, "not_found");
    if (req.method !== "POST") return reply(405, { error: "method_not_allowed" }, "method_not_allowed");
    let form: URLSearchParams;
    try {
      const text = await readBody(req);
      form = new URLSearchParams(isFormEncoded(req) ? text : "");
    } catch (error) {
      if (error instanceof BodyTooLargeError) return reply(413, { error: "request_too_large" }, "request_too_large");
      throw error;
    }
    record.audience = form.get("audience") ?? undefined;
    Object.assign(record, subjectTokenIdentity(form.get("subject_token")));
    const { delayMs, fault } = faults.take(record.path);
    await sleep(delayMs);
    if (fault) {
      record.fault = true;
      if (fault.body !== undefined) {
        record.status = fault.status;
        record.error = fault.code;
        return sendVerbatimFault(res, { ...fault, body: fault.body });
      }
      const error = fault.code ?? defaultOAuthError(fault.status);
      record.status = fault.status;
      record.error = error;
      return sendJson(res, fault.status, { error, error_description: fault.message }, fault.headers);
    }
    const result = await exchangeToken(form, { providers, tokenLifetimeSeconds, now: clock() });
    if ("error" in result) return reply(400, result, result.error);
    issued.set(result.response.access_token, result.issued);
    reply(200, result.response);
  };

  const { port, close } = await serveOnLoopback(handle, {
    onError: (res) => sendJson(res, 500, { error: "server_error" }),
  });
  return {
    ...localServerHandle(requests, faults, close),
    tokenUrl: `http://127.0.0.1:${port}/v1/token`,
    issued,
    resolveAccessToken: (accessToken) => {
      const token = issued.get(accessToken);
      return token && { kind: "federated", ...token };
    },
  };
}

/** The OAuth `error` an injected fault without `code` carries. */
function defaultOAuthError(status: number): string {
  if (status === 429 || status === 503) return "temporarily_unavailable";
  return status >= 500 ? "server_error" : "invalid_request";
}

function subjectTokenIdentity(token: string | null): Pick<LocalGoogleStsRequest, "subjectTokenId" | "subjectIssuedAt"> {
  if (!token) return {};
  try {
    const { jti, iat } = decodeJwt(token);
    return {
      ...(typeof jti === "string" && { subjectTokenId: jti }),
      ...(typeof iat === "number" && { subjectIssuedAt: iat }),
    };
  } catch {
    return {};
  }
}
