import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { InvalidOptionError } from "@confspace/core";
import {
  FaultQueue,
  type LocalRequest,
  type LocalServer,
  localServerHandle,
  newRequestRecord,
} from "../internal/local-server.js";
import {
  answerFault,
  authenticate,
  errorInfo,
  GoogleApiFailure,
  readJsonRequest,
  sendResult,
  startGoogleApiServer,
  type TokenSources,
} from "./internal/google-api.js";
import { compileIamPolicy, describePrincipal, type IamPolicy, isPermitted } from "./internal/iam-policy.js";
import type {
  LocalGooglePrincipal,
  LocalGoogleTokenIssuer,
  LocalIamBinding,
  LocalServiceAccountPrincipal,
  LocalStaticAccessToken,
} from "./principals.js";

/** A service account the local IAM Credentials API can mint tokens for. */
export interface LocalServiceAccount {
  /** `NAME@PROJECT.iam.gserviceaccount.com`. */
  email: string;
  /**
   * Bindings on the service account, e.g. `roles/iam.workloadIdentityUser` for
   * `principalSet://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/attribute.image_digest/sha256:…`.
   * `roles/iam.serviceAccountTokenCreator` grants `getAccessToken` too.
   */
  bindings: LocalIamBinding[];
}

/** Options of {@link startLocalIamCredentials}. */
export interface LocalIamCredentialsOptions {
  serviceAccounts: LocalServiceAccount[];
  /** Servers whose access tokens callers present (the local STS). */
  tokenIssuers: LocalGoogleTokenIssuer[];
  /** Fixed bearer tokens of other members (e.g. `user:…`). Default none. */
  staticTokens?: LocalStaticAccessToken[];
  /** Longest `lifetime` accepted (s). Default 3600; Google allows up to 43200 under an organization policy. */
  maxLifetimeSeconds?: number;
  /** Time source (ms since the epoch). Default `Date.now`. */
  clock?: () => number;
}

/**
 * One request, as recorded (never a token); `error` is Google's canonical status of a
 * failure (`PERMISSION_DENIED`, …).
 */
export interface LocalIamCredentialsRequest extends LocalRequest {
  /** The service account in the URL; `undefined` for other paths. */
  serviceAccount: string | undefined;
  /** The caller as an IAM member (`principal://…/subject/S`, `serviceAccount:…`); `undefined` when unauthenticated. */
  caller: string | undefined;
}

/**
 * A running local IAM Service Account Credentials API. Faults and delays reach every
 * request; a fault without `body` answers Google's error JSON with `status` = `code`
 * (default: the google.rpc.Code of the HTTP status, e.g. 503 `UNAVAILABLE`).
 */
export interface LocalIamCredentials extends LocalGoogleTokenIssuer, LocalServer<LocalIamCredentialsRequest> {
  /** `http://127.0.0.1:PORT` (Google: `https://iamcredentials.googleapis.com`). */
  readonly endpoint: string;
  /** The URL google-auth-library posts to for `email` (its `service_account_impersonation_url`). */
  generateAccessTokenUrl(email: string): string;
  /** Service-account tokens issued so far, by token. */
  readonly issued: Map<string, LocalServiceAccountPrincipal>;
}

const ACCEPTED_SCOPES = ["https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/iam"];
const PATH = /^\/v1\/projects\/([^/]+)\/serviceAccounts\/([^/:]+):generateAccessToken$/;
const PERMISSION = "iam.serviceAccounts.getAccessToken";

/**
 * Starts the IAM Credentials API's `POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken`
 * (JSON `{ scope, lifetime: "3600s" }` → `{ accessToken, expireTime }`) on 127.0.0.1, as
 * google-auth-library's service-account impersonation calls it. The caller needs
 * `iam.serviceAccounts.getAccessToken` on the service account (`roles/iam.workloadIdentityUser`
 * or `roles/iam.serviceAccountTokenCreator`) and a token with the `cloud-platform` or
 * `iam` scope. Failures are Google's JSON errors (401/403/400).
 */
export async function startLocalIamCredentials(options: LocalIamCredentialsOptions): Promise<LocalIamCredentials> {
  const clock = options.clock ?? Date.now;
  const maxLifetime = options.maxLifetimeSeconds ?? 3600;
  const policies = new Map<string, IamPolicy>();
  for (const account of options.serviceAccounts) {
    if (!/^[^@\s]+@[^@\s]+\.[a-z]+$/.test(account.email)) {
      throw new InvalidOptionError(
        "serviceAccounts[].email",
        `startLocalIamCredentials: "${account.email}" is not a service account email`,
      );
    }
    policies.set(account.email.toLowerCase(), compileIamPolicy(`service account ${account.email}`, account.bindings));
  }
  const sources: TokenSources = {
    issuers: options.tokenIssuers,
    staticTokens: new Map((options.staticTokens ?? []).map((token) => [token.token, token])),
  };
  const issued = new Map<string, LocalServiceAccountPrincipal>();
  const requests: LocalIamCredentialsRequest[] = [];
  const faults = new FaultQueue("startLocalIamCredentials");

  const generate = async (
    req: IncomingMessage,
    email: string,
  ): Promise<[LocalGooglePrincipal | undefined, object | GoogleApiFailure]> => {
    const now = clock();
    const principal = authenticate(req, sources, now, ACCEPTED_SCOPES);
    if (principal instanceof GoogleApiFailure) return [undefined, principal];
    if (!isPermitted(policies.get(email.toLowerCase()), PERMISSION, principal)) {
      // Verbatim: the same answer whether the account is missing or the binding is.
      return [
        principal,
        new GoogleApiFailure(
          "PERMISSION_DENIED",
          `Permission '${PERMISSION}' denied on resource (or it may not exist).`,
          [errorInfo("IAM_PERMISSION_DENIED", "iam.googleapis.com", { permission: PERMISSION })],
        ),
      ];
    }
    const body = await readJsonRequest(req, ["scope", "lifetime", "delegates", "name"]);
    if (body instanceof GoogleApiFailure) return [principal, body];
    const scope = body.scope;
    if (!Array.isArray(scope) || scope.length === 0 || !scope.every((s) => typeof s === "string" && s !== "")) {
      return [principal, new GoogleApiFailure("INVALID_ARGUMENT", "Scope required.")];
    }
    if (body.delegates !== undefined && (!Array.isArray(body.delegates) || body.delegates.length > 0)) {
      return [
        principal,
        new GoogleApiFailure("INVALID_ARGUMENT", "Delegation chains are not supported by this local server."),
      ];
    }
    let lifetimeSeconds = 3600;
    if (body.lifetime !== undefined) {
      const match = typeof body.lifetime === "string" ? /^(\d+)(?:\.\d{1,9})?s$/.exec(body.lifetime) : null;
      if (!match)
        return [
          principal,
          new GoogleApiFailure(
            "INVALID_ARGUMENT",
            "Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration).",
          ),
        ];
      lifetimeSeconds = Number(match[1]);
    }
    if (lifetimeSeconds < 1 || lifetimeSeconds > maxLifetime) {
      return [
        principal,
        new GoogleApiFailure(
          "INVALID_ARGUMENT",
          `The lifetime requested is invalid. Specify a lifetime between 1 and ${maxLifetime} seconds.`,
        ),
      ];
    }
    const accessToken = `ya29.c.local-${randomBytes(32).toString("base64url")}`;
    const expiresAt = now + lifetimeSeconds * 1000;
    issued.set(accessToken, { kind: "serviceAccount", email, scopes: scope as string[], expiresAt });
    return [principal, { accessToken, expireTime: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z") }];
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const record: LocalIamCredentialsRequest = {
      ...newRequestRecord(req, clock()),
      serviceAccount: undefined,
      caller: undefined,
    };
    requests.push(record);
    const answer = (result: object | GoogleApiFailure) => {
      const failure = result instanceof GoogleApiFailure ? result : undefined;
      record.status = failure?.httpStatus ?? 200;
      record.error = failure?.status;
      sendResult(res, result);
    };
    const match = PATH.exec(record.path);
    if (match) record.serviceAccount = decodeURIComponent(match[2]!);
    if (await answerFault(faults, record, res)) return;
    if (!match) {
      return answer(
        new GoogleApiFailure("NOT_FOUND", `The requested URL ${record.path} was not found on this server.`),
      );
    }
    if (req.method !== "POST") return answer(new GoogleApiFailure("NOT_FOUND", "Method not found."));
    const [principal, result] = await generate(req, record.serviceAccount!);
    record.caller = principal && describePrincipal(principal);
    answer(result);
  };

  const { port, close } = await startGoogleApiServer(handle);
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    ...localServerHandle(requests, faults, close),
    endpoint,
    generateAccessTokenUrl: (email) => `${endpoint}/v1/projects/-/serviceAccounts/${email}:generateAccessToken`,
    issued,
    resolveAccessToken: (token) => issued.get(token),
  };
}
