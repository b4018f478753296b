import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import {
  BodyTooLargeError,
  closeServer,
  isFormEncoded,
  listenOnLoopback,
  readBody,
  sendJson,
} from "./internal/http.js";
import { exchangeToken } from "./internal/sts-token-exchange.js";
import { createWifProvider, type WifProvider } from "./internal/wif-provider.js";

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
}

/** A federated access token this server issued. */
export interface IssuedFederatedToken {
  /** `sub` of the subject token (the default `google.subject` mapping). */
  subject: string;
  /** The provider resource name the token was exchanged at. */
  audience: string;
  /** Scopes requested with the exchange. */
  scopes: string[];
  /** When the access token expires (ms since the epoch). */
  expiresAt: number;
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

/** A running local Google Security Token Service. */
export interface LocalGoogleSts {
  /** `http://127.0.0.1:PORT/v1/token`, for `token_url` of an external-account client. */
  readonly tokenUrl: string;
  /** Number of `POST /v1/token` requests so far (including rejected ones). */
  readonly requests: number;
  /** Access tokens issued so far, by token, so later local Google API doubles can authorize callers. */
  readonly issued: Map<string, IssuedFederatedToken>;
  /** Closes the server and its open connections. */
  stop(): Promise<void>;
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
  let requests = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    if (path !== "/v1/token") return sendJson(res, 404, { error: "not_found" });
    if (req.method !== "POST") return sendJson(res, 405, { error: "method_not_allowed" });
    requests += 1;
    let form: URLSearchParams;
    try {
      const text = await readBody(req);
      form = new URLSearchParams(isFormEncoded(req) ? text : "");
    } catch (error) {
      if (error instanceof BodyTooLargeError) return sendJson(res, 413, { error: "request_too_large" });
      throw error;
    }
    const result = await exchangeToken(form, { providers, tokenLifetimeSeconds, now: clock() });
    if ("error" in result) return sendJson(res, 400, result);
    issued.set(result.response.access_token, result.issued);
    sendJson(res, 200, result.response);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: "server_error" });
      else res.destroy();
    });
  });
  const port = await listenOnLoopback(server);
  return {
    tokenUrl: `http://127.0.0.1:${port}/v1/token`,
    get requests() {
      return requests;
    },
    issued,
    stop: () => closeServer(server),
  };
}
