import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  AttestationPolicyError,
  type AttestationVerifier,
  AttestationVerifierUnavailableError,
} from "@confspace/attestation/verify";
import type { Clock, LogFields, Logger } from "@confspace/core";
import { brokerNonce, EkmError, type ExportKeyingMaterialOptions, requestKeyingMaterial } from "@confspace/ekm-tls";
import type { BrokerMetrics, RequestOutcome } from "../metrics.js";
import type { AnyProvider, AnyProviderRuntime } from "../providers/provider.js";
import { type CompiledGrant, findGrant } from "./grants.js";
import { BodyReadError, BodyTooLargeError, readBody, sendJson } from "./http.js";
import type { RateLimiter } from "./rate-limiter.js";
import { ReplyError } from "./reply-error.js";
import { InvalidBrokerRequestError, type RequestParser } from "./token-request.js";
import { UpstreamUnavailableError } from "./upstream-error.js";
import { type WorkloadIdentity, workloadIdentity } from "./workload-identity.js";

/** Everything one token request needs; built once by the broker. */
export interface TokenHandlerContext {
  verifier: AttestationVerifier;
  /** Exporter inputs of the binding (`brokerEkmOptions(audience)`). */
  ekmOptions: ExportKeyingMaterialOptions;
  grants: readonly CompiledGrant[];
  /** The registered providers by name (for their error mapping). */
  providers: ReadonlyMap<string, AnyProvider>;
  /** Parses a body for the registered providers. */
  parse: RequestParser;
  /** The started providers by name; a registered provider that is not configured is absent. */
  runtimes: ReadonlyMap<string, AnyProviderRuntime>;
  rateLimiter: RateLimiter;
  rateLimitKey: (identity: WorkloadIdentity) => string;
  /** Per source address, taken before the body is read: the cheap refusal comes first. */
  sourceRateLimiter: RateLimiter;
  /** The bucket of a remote address (`sourceKey`). */
  sourceKey: (address: string | undefined) => string;
  metrics: BrokerMetrics;
  logger: Logger;
  clock: Clock;
  maxBodyBytes: number;
  /** Whether a logger was given (skip work only logs need otherwise). */
  logging: boolean;
  /** Whether the broker is shutting down: replies then close their connection. */
  shuttingDown(): boolean;
}

/** Headers a proxy adds; their presence on a nonce mismatch points at a TLS-terminating proxy. */
const PROXY_HEADERS = ["forwarded", "x-forwarded-for", "x-forwarded-proto", "x-real-ip", "via"];

/**
 * `POST /v1/token`: body → binding nonce from this request's own TLS connection → verify
 * → rate limit → grant → upstream credential. Answers and logs exactly once.
 */
export async function handleTokenRequest(ctx: TokenHandlerContext, req: IncomingMessage, res: ServerResponse) {
  const started = performance.now();
  const fields: LogFields = { requestId: randomUUID() };
  if (ctx.logging) fields.remoteAddress = req.socket.remoteAddress;
  const abort = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) abort.abort(new Error("the client went away"));
  });
  ctx.metrics.inflight.add(1);
  let outcome: RequestOutcome = "ok";
  let status = 200;
  try {
    const body = await issue(ctx, req, fields, abort.signal);
    if (ctx.shuttingDown()) res.setHeader("connection", "close");
    sendJson(res, 200, body);
  } catch (error) {
    if (abort.signal.aborted) {
      // Nobody to answer; 499 as nginx logs it.
      outcome = "client_closed";
      status = 499;
      return;
    }
    const reply = toReply(
      error,
      fields,
      fields.provider === undefined ? undefined : ctx.providers.get(String(fields.provider)),
    );
    outcome = reply.error;
    status = reply.status;
    if (reply.extra.check !== undefined) ctx.metrics.verificationFailures.inc({ check: reply.extra.check });
    if (reply.extra.check === "nonce") logBindingMismatch(ctx.logger, req, fields);
    if (ctx.shuttingDown() && !res.headersSent) res.setHeader("connection", "close");
    if (!res.headersSent && !res.destroyed) reply.send(res);
    if (outcome === "server_error")
      ctx.logger.error("unexpected error answering a token request", { ...fields, error });
  } finally {
    const seconds = (performance.now() - started) / 1000;
    ctx.metrics.inflight.add(-1);
    ctx.metrics.requests.inc({ outcome, provider: String(fields.provider ?? "none") });
    ctx.metrics.requestDuration.observe(seconds, { outcome });
    if (ctx.logging) {
      const line = { ...fields, outcome, status, durationMs: Math.round(seconds * 10_000) / 10 };
      if (status >= 500) ctx.logger.error("token request", line);
      else if (status === 401 || status === 403) ctx.logger.warn("token request", line);
      else ctx.logger.info("token request", line);
    }
  }
}

async function issue(ctx: TokenHandlerContext, req: IncomingMessage, fields: LogFields, signal: AbortSignal) {
  const fromSource = ctx.sourceRateLimiter.take(ctx.sourceKey(req.socket.remoteAddress));
  if (!fromSource.allowed) {
    throw new ReplyError("rate_limited", "too many requests from this address; retry later", {
      retryAfterMs: fromSource.retryAfterMs,
    });
  }
  const type = req.headers["content-type"];
  if (type !== undefined && !/^application\/json\s*(?:;|$)/i.test(type)) {
    throw new ReplyError("invalid_request", "the body must be JSON (Content-Type: application/json)");
  }
  const { provider, attestationToken, request } = ctx.parse(await readBody(req, ctx.maxBodyBytes));
  fields.provider = provider.name;
  if (provider.logFields !== undefined) Object.assign(fields, provider.logFields(request));

  // The nonce the token must carry, recomputed from the connection this request arrived on.
  const nonce = brokerNonce(requestKeyingMaterial(req, ctx.ekmOptions));
  const claims = (await ctx.verifier.verify(attestationToken, { nonce })) as Record<string, unknown>;
  const identity = workloadIdentity(claims);
  fields.workload = identity;

  const decision = ctx.rateLimiter.take(ctx.rateLimitKey(identity));
  if (!decision.allowed) {
    throw new ReplyError("rate_limited", "too many requests from this workload; retry later", {
      retryAfterMs: decision.retryAfterMs,
    });
  }
  const lookup = findGrant(ctx.grants, claims, provider, request);
  if (!lookup.granted) throw denied(lookup.reason, provider.grant.deniedWhat);
  fields.grant = lookup.grant.name;
  const runtime = ctx.runtimes.get(provider.name);
  if (runtime === undefined)
    throw new Error(`a grant gives ${provider.name} credentials but ${provider.name} is not configured`);
  return runtime.issue({
    request,
    claims,
    identity,
    grant: { name: lookup.grant.name, value: lookup.value },
    fields,
    signal,
  });
}

function denied(reason: "no_matching_grant" | "not_granted", what: string): ReplyError {
  return new ReplyError(
    "access_denied",
    reason === "no_matching_grant"
      ? "no grant of this broker matches this workload"
      : `no grant matching this workload gives ${what}`,
  );
}

function toReply(error: unknown, fields: LogFields, provider: AnyProvider | undefined): ReplyError {
  if (error instanceof ReplyError) return error;
  const own = provider?.toReply?.(error, fields);
  if (own !== undefined) return own;
  if (error instanceof BodyTooLargeError) {
    return new ReplyError("request_too_large", `the body exceeds ${error.limitBytes} bytes`, { closeConnection: true });
  }
  if (error instanceof BodyReadError) return new ReplyError("invalid_request", "the request body could not be read");
  if (error instanceof InvalidBrokerRequestError) return new ReplyError("invalid_request", error.message);
  if (error instanceof EkmError) {
    return new ReplyError("invalid_request", "the connection's TLS keying material is unavailable (TLS 1.3 required)");
  }
  if (error instanceof AttestationPolicyError) {
    fields.check = error.check;
    if (error.claim !== undefined) fields.claim = error.claim;
    return new ReplyError("invalid_token", `the attestation token was rejected: ${error.message}`, {
      check: error.check,
    });
  }
  if (error instanceof AttestationVerifierUnavailableError) {
    fields.error = error;
    return new ReplyError("verifier_unavailable", "the attestation issuer's keys are unavailable; retry later", {
      retryAfterMs: Math.max(1_000, error.retryAfterMs),
    });
  }
  if (error instanceof UpstreamUnavailableError) {
    fields.upstreamError = error.cause;
    return new ReplyError(
      "upstream_unavailable",
      `the ${error.provider} identity provider is unavailable; retry later`,
      {
        retryAfterMs: Math.max(1_000, error.retryAfterMs),
      },
    );
  }
  return new ReplyError("server_error", "the broker failed to answer; retry later");
}

function logBindingMismatch(logger: Logger, req: IncomingMessage, fields: LogFields): void {
  const proxyHeaders = PROXY_HEADERS.filter((name) => req.headers[name] !== undefined);
  const message =
    proxyHeaders.length > 0
      ? "TLS binding mismatch: the token's nonce is not this connection's keying material, and the request carries " +
        `proxy headers (${proxyHeaders.join(", ")}): a TLS-terminating proxy is most likely in front of the broker. ` +
        "The broker must terminate TLS itself: put it behind TCP passthrough."
      : "TLS binding mismatch: the token's nonce is not this connection's keying material. Either the token was " +
        "bound to another connection (a replay), or a TLS-terminating proxy is in front of the broker; the broker " +
        "must terminate TLS itself (TCP passthrough).";
  logger.warn(message, { requestId: fields.requestId, check: "nonce", proxyHeaders });
}
