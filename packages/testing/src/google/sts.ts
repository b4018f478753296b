import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { decodeJwt } from "jose";
import {
  BodyTooLargeError,
  closeServer,
  isFormEncoded,
  listenOnLoopback,
  readBody,
  sendJson,
} from "../internal/http.js";
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

/** One `POST /v1/token`, as recorded (never a token). */
export interface LocalGoogleStsCall {
  /** The `audience` form field (the provider), when sent. */
  audience: string | undefined;
  status: number;
  /** The OAuth `error` of a refusal. */
  error?: string;
  /** `jti` of the subject token (unverified), to tell attestation tokens apart. */
  subjectTokenId?: string;
  /** `iat` of the subject token (unverified), seconds. */
  subjectIssuedAt?: number;
  /** When the request arrived (ms since the epoch, from `clock`). */
  at: number;
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
  /** Every `POST /v1/token`, in order. */
  readonly calls: LocalGoogleStsCall[];
  /** Access tokens issued so far, by token, so later local Google API doubles can authorize callers. */
  readonly issued: Map<string, IssuedFederatedToken>;
  /** The federated principal an access token stands for (expired ones included), for IAM Credentials and KMS. */
  resolveAccessToken(accessToken: string): LocalGooglePrincipal | undefined;
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
  const calls: LocalGoogleStsCall[] = [];
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
    const now = clock();
    const result = await exchangeToken(form, { providers, tokenLifetimeSeconds, now });
    calls.push({
      audience: form.get("audience") ?? undefined,
      status: "error" in result ? 400 : 200,
      ...("error" in result && { error: result.error }),
      ...subjectTokenIdentity(form.get("subject_token")),
      at: now,
    });
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
    calls,
    issued,
    resolveAccessToken: (accessToken) => {
      const token = issued.get(accessToken);
      return token && { kind: "federated", ...token };
    },
    stop: () => closeServer(server),
  };
}

function subjectTokenIdentity(token: string | null): Pick<LocalGoogleStsCall, "subjectTokenId" | "subjectIssuedAt"> {
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
