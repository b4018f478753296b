import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { InvalidOptionError } from "@confspace/core";
import { BodyTooLargeError, MAX_BODY_BYTES, serveOnLoopback } from "../internal/http.js";
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
import { parseQuery } from "./internal/sigv4.js";
import {
  assumeRole,
  assumeRoleWithWebIdentity,
  type Caller,
  type IssuedSession,
  type Role,
} from "./internal/sts-actions.js";
import { authenticateCaller, type User } from "./internal/sts-auth.js";
import { loadProvider, loadRole, loadUser } from "./internal/sts-config.js";
import { type StsError, stsErrors } from "./internal/sts-errors.js";
import type { PolicyDocument } from "./internal/trust-policy.js";
import type { OidcProvider } from "./internal/web-identity-token.js";
import { xmlDocument } from "./internal/xml.js";

export type { IssuedSession as IssuedAwsSession } from "./internal/sts-actions.js";
export type { PolicyDocument, PolicyStatement } from "./internal/trust-policy.js";

/** An IAM role the local STS can issue sessions for. */
export interface LocalAwsRole {
  /** `arn:aws:iam::ACCOUNT:role/[PATH/]NAME`. */
  arn: string;
  /** The role's trust policy (object or JSON), evaluated for every assume call. See the README for what is supported. */
  trustPolicy: PolicyDocument | string;
  /** The role's `MaxSessionDuration`, seconds. Default 3600. AWS allows 3600–43200; here any value ≥ `minDurationSeconds`. */
  maxSessionDurationSeconds?: number;
}

/** An IAM OIDC identity provider (`arn:aws:iam::ACCOUNT:oidc-provider/HOST[/PATH]`). */
export interface LocalOidcProvider {
  /** The provider URL: tokens must carry exactly this `iss`. https, or http on a loopback host. */
  url: string;
  /** The provider's client ID list (audiences): a token's `aud` must be one of them. 1–100 entries. */
  clientIds: string[];
  /** Account that owns the provider (its ARN). Default `"123456789012"`. */
  accountId?: string;
  /** JWKS URL. Default: `jwks_uri` of `{url}/.well-known/openid-configuration`. */
  jwksUri?: string;
}

/** An IAM user whose long-term access key may call `AssumeRole`. */
export interface LocalAwsUser {
  /** `arn:aws:iam::ACCOUNT:user/[PATH/]NAME`. */
  arn: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** One request to the local STS; never holds a token or key. `error` is the AWS error code of a refusal. */
export interface LocalAwsStsRequest extends LocalRequest {
  /** `Action` as sent (`AssumeRole`, `AssumeRoleWithWebIdentity`, …). */
  action: string;
  roleArn: string | undefined;
  sessionName: string | undefined;
  /** `DurationSeconds` as requested, `undefined` when absent. */
  durationSeconds: number | undefined;
  /** `SourceIdentity` as requested, `undefined` when absent. */
  sourceIdentity: string | undefined;
}

/** Options of {@link startLocalAwsSts}. */
export interface LocalAwsStsOptions {
  roles: LocalAwsRole[];
  oidcProviders?: LocalOidcProvider[];
  users?: LocalAwsUser[];
  /** Region requests must be signed for. Default `"us-east-1"`. */
  region?: string;
  /** Smallest `DurationSeconds` accepted. Default 900 (AWS's minimum); lower it to test expiry in seconds. */
  minDurationSeconds?: number;
  /** Time source, ms since the epoch. Default `Date.now`. */
  clock?: () => number;
}

/**
 * A running local AWS STS. Faults and delays reach every request; a fault without `body`
 * answers AWS's XML error with `Code` = `code` (default `ServiceUnavailable` for 503,
 * `InternalFailure` for other 5xx, `Throttling` for 429, `AccessDenied` for 403, else
 * `InvalidParameterValue`) and `Message` = `message`.
 */
export interface LocalAwsSts extends LocalServer<LocalAwsStsRequest> {
  /** `http://127.0.0.1:PORT`, for `new STSClient({ endpoint, region })`. */
  readonly endpoint: string;
  readonly region: string;
  /** Sessions issued so far, by access key id (the local S3 authenticates against this). */
  readonly issued: ReadonlyMap<string, IssuedSession>;
}

const XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/";

/**
 * Starts an HTTP server on 127.0.0.1 (OS-assigned port) that follows the documented
 * contract of AWS STS's query API for `AssumeRole` (SigV4-authenticated) and
 * `AssumeRoleWithWebIdentity` (OIDC tokens verified against the provider's JWKS), with
 * IAM trust policies, session tags and AWS's XML replies and error codes.
 *
 * @example
 * ```ts
 * const sts = await startLocalAwsSts({ roles: [{ arn, trustPolicy }], oidcProviders: [{ url: emulator.issuer, clientIds: [aud] }] });
 * const client = new STSClient({ endpoint: sts.endpoint, region: sts.region });
 * ```
 */
export async function startLocalAwsSts(options: LocalAwsStsOptions): Promise<LocalAwsSts> {
  const minDurationSeconds = options.minDurationSeconds ?? 900;
  if (!Number.isInteger(minDurationSeconds) || minDurationSeconds < 1) {
    throw new InvalidOptionError(
      "minDurationSeconds",
      "startLocalAwsSts: minDurationSeconds must be a positive integer",
    );
  }
  const roles = new Map<string, Role>(options.roles.map((r) => [r.arn, loadRole(r, minDurationSeconds)]));
  const providers = new Map<string, OidcProvider>((options.oidcProviders ?? []).map((p) => [p.url, loadProvider(p)]));
  const users = new Map<string, User>((options.users ?? []).map((u) => [u.accessKeyId, loadUser(u)]));
  const region = options.region ?? "us-east-1";
  const clock = options.clock ?? (() => Date.now());
  const issued = new Map<string, IssuedSession>();
  const requests: LocalAwsStsRequest[] = [];
  const faults = new FaultQueue("startLocalAwsSts");

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // The Date header follows the injected clock, so the SDK's clock-skew correction agrees with it.
    res.setHeader("date", new Date(clock()).toUTCString());
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const base = newRequestRecord(req, clock());
    const body = await readRaw(req);
    const form = new URLSearchParams(url.search);
    if (isForm(req)) for (const [k, v] of new URLSearchParams(body.toString("utf8"))) form.append(k, v);
    const action = form.get("Action") ?? "";
    const call: LocalAwsStsRequest = {
      ...base,
      action,
      roleArn: form.get("RoleArn") ?? undefined,
      sessionName: form.get("RoleSessionName") ?? undefined,
      durationSeconds: form.has("DurationSeconds") ? Number(form.get("DurationSeconds")) : undefined,
      sourceIdentity: form.get("SourceIdentity") ?? undefined,
    };
    requests.push(call);
    const reply = (error: StsError, headers?: Readonly<Record<string, string>>) => {
      call.status = error.status;
      call.error = error.code;
      send(res, error.status, errorXml(error), headers);
    };
    const { delayMs, fault } = faults.take(call.path);
    await sleep(delayMs);
    if (fault !== undefined) {
      call.fault = true;
      if (fault.body === undefined) return reply(faultError(fault), fault.headers);
      call.status = fault.status;
      call.error = fault.code;
      return sendVerbatimFault(res, { ...fault, body: fault.body });
    }
    if (form.get("Version") !== "2011-06-15") return reply(stsErrors.invalidAction(action));
    const ctx = { roles, providers, minDurationSeconds, now: clock() };
    let outcome: Awaited<ReturnType<typeof assumeRoleWithWebIdentity>>;
    if (action === "AssumeRoleWithWebIdentity") {
      outcome = await assumeRoleWithWebIdentity(form, ctx);
    } else if (action === "AssumeRole") {
      const signed = {
        method: req.method ?? "POST",
        path: url.pathname,
        query: parseQuery(url.search.slice(1)),
        headers: req.headers,
        body,
      };
      const caller: Caller | StsError = await authenticateCaller(signed, {
        region,
        users,
        sessions: issued,
        now: ctx.now,
      });
      outcome = "code" in caller ? caller : assumeRole(form, caller, ctx);
    } else {
      return reply(stsErrors.invalidAction(action));
    }
    if ("code" in outcome) return reply(outcome);
    issued.set(outcome.session.accessKeyId, outcome.session);
    call.status = 200;
    send(
      res,
      200,
      xmlDocument(`${action}Response`, XMLNS, {
        [`${action}Result`]: outcome.result,
        ResponseMetadata: { RequestId: randomUUID() },
      }),
    );
  };

  const { port, close } = await serveOnLoopback(handle, {
    onError: (res, error) => {
      if (error instanceof BodyTooLargeError) {
        return send(
          res,
          413,
          errorXml({
            ...stsErrors.internal(),
            status: 413,
            code: "RequestEntityTooLarge",
            message: "Request body too large.",
          }),
        );
      }
      send(res, 500, errorXml(stsErrors.internal()));
    },
  });
  return {
    ...localServerHandle(requests, faults, close),
    endpoint: `http://127.0.0.1:${port}`,
    region,
    issued,
  };
}

/** The AWS error an injected fault without `body` answers with. */
function faultError(fault: QueuedFault): StsError {
  const { status } = fault;
  const code =
    fault.code ??
    (status === 503
      ? "ServiceUnavailable"
      : status >= 500
        ? "InternalFailure"
        : status === 429
          ? "Throttling"
          : status === 403
            ? "AccessDenied"
            : "InvalidParameterValue");
  return { status, code, message: fault.message, type: status >= 500 ? "Receiver" : "Sender" };
}

function errorXml(error: StsError): string {
  return xmlDocument("ErrorResponse", XMLNS, {
    Error: { Type: error.type, Code: error.code, Message: error.message },
    RequestId: randomUUID(),
  });
}

function send(res: ServerResponse, status: number, xml: string, headers?: Readonly<Record<string, string>>): void {
  res.writeHead(status, {
    "content-type": "text/xml",
    "content-length": Buffer.byteLength(xml),
    "x-amzn-requestid": randomUUID(),
    ...headers,
  });
  res.end(xml);
}

function isForm(req: IncomingMessage): boolean {
  return (
    (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase() === "application/x-www-form-urlencoded"
  );
}

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
