import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { InvalidOptionError } from "@confspace/core";
import { serveOnLoopback } from "../internal/http.js";
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
import { authenticateS3, type S3Principal } from "./internal/s3-auth.js";
import { type S3Error, s3Errors } from "./internal/s3-errors.js";
import { listObjectsV2, objectHeaders, putObject, type StoredObject, sendS3Error } from "./internal/s3-objects.js";
import { parseQuery } from "./internal/sigv4.js";
import type { IssuedAwsSession, LocalAwsUser } from "./sts.js";

export type { StoredObject as LocalS3Object } from "./internal/s3-objects.js";

/** A bucket of the local S3. */
export interface LocalS3Bucket {
  name: string;
  /**
   * Who may use it: user ARNs, role ARNs (any session of the role) or assumed-role ARNs.
   * Default: every authenticated caller.
   */
  allowedPrincipals?: string[];
}

/** One request to the local S3; never holds a key, token or object body. `error` is the S3 error code of a refusal. */
export interface LocalS3Request extends LocalRequest {
  operation: "PutObject" | "GetObject" | "HeadObject" | "ListObjectsV2" | "Unsupported";
  bucket: string | undefined;
  key: string | undefined;
  /** The access key that signed it, when the Authorization header could be read. */
  accessKeyId: string | undefined;
}

/** Options of {@link startLocalS3}. */
export interface LocalS3Options {
  buckets: Array<string | LocalS3Bucket>;
  /** The local STS whose issued sessions are accepted (with their `x-amz-security-token`). */
  sts?: { readonly issued: ReadonlyMap<string, IssuedAwsSession> };
  /** Long-term keys accepted too. */
  users?: LocalAwsUser[];
  /** Region requests must be signed for. Default `"us-east-1"`. */
  region?: string;
  /** Largest object accepted, bytes. Default 8 MiB. */
  maxObjectBytes?: number;
  /** Time source, ms since the epoch (skew and session expiry). Default `Date.now`. */
  clock?: () => number;
}

/**
 * A running local S3. Faults and delays reach every request; a fault without `body`
 * answers S3's XML error with `Code` = `code` (default `SlowDown` for 503,
 * `InternalError` for other 5xx, `AccessDenied` for 403, `NoSuchKey` for 404, else
 * `InvalidRequest`) and `Message` = `message`.
 */
export interface LocalS3 extends LocalServer<LocalS3Request> {
  /** `http://127.0.0.1:PORT`, for `new S3Client({ endpoint, region, forcePathStyle: true })`. */
  readonly endpoint: string;
  readonly region: string;
  /** The objects of a bucket (key → object), for assertions. */
  objects(bucket: string): ReadonlyMap<string, StoredObject>;
}

/**
 * Starts an S3-compatible HTTP server on 127.0.0.1 (OS-assigned port), path-style only,
 * with `PutObject`, `GetObject`, `HeadObject` and `ListObjectsV2`, that verifies every
 * request's SigV4 signature (header form) against session credentials issued by the
 * local STS or users' long-term keys, and rejects expired sessions (`ExpiredToken`),
 * bad signatures (`SignatureDoesNotMatch`) and payloads that do not match their hash.
 *
 * @example
 * ```ts
 * const s3 = await startLocalS3({ sts, buckets: ["data"] });
 * const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials });
 * ```
 */
export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const region = options.region ?? "us-east-1";
  const clock = options.clock ?? (() => Date.now());
  const maxObjectBytes = options.maxObjectBytes ?? 8 * 1024 * 1024;
  const buckets = new Map<string, { allowed: string[] | undefined; objects: Map<string, StoredObject> }>();
  for (const b of options.buckets) {
    const config = typeof b === "string" ? { name: b } : b;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(config.name)) {
      throw new InvalidOptionError("buckets", `startLocalS3: "${config.name}" is not a valid bucket name`);
    }
    buckets.set(config.name, { allowed: config.allowedPrincipals, objects: new Map() });
  }
  const users = new Map((options.users ?? []).map((u) => [u.accessKeyId, u]));
  const requests: LocalS3Request[] = [];
  const faults = new FaultQueue("startLocalS3");

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID().replace(/-/g, "").slice(0, 16).toUpperCase();
    // The Date header follows the injected clock, so the SDK's clock-skew correction agrees with it.
    res.setHeader("date", new Date(clock()).toUTCString());
    const rawUrl = req.url ?? "/";
    const q = rawUrl.indexOf("?");
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = parseQuery(q < 0 ? "" : rawUrl.slice(q + 1));
    const slash = path.indexOf("/", 1);
    const bucketName = decode(path.slice(1, slash < 0 ? undefined : slash)) || undefined;
    const key = slash < 0 || slash === path.length - 1 ? undefined : decode(path.slice(slash + 1));
    const method = req.method ?? "GET";
    const operation: LocalS3Request["operation"] =
      key !== undefined
        ? method === "PUT"
          ? "PutObject"
          : method === "GET"
            ? "GetObject"
            : method === "HEAD"
              ? "HeadObject"
              : "Unsupported"
        : method === "GET" && query["list-type"] === "2"
          ? "ListObjectsV2"
          : "Unsupported";
    const record: LocalS3Request = {
      ...newRequestRecord(req, clock()),
      operation,
      bucket: bucketName,
      key,
      accessKeyId: /Credential=([A-Z0-9]+)\//.exec(String(req.headers.authorization ?? ""))?.[1],
    };
    requests.push(record);
    const fail = (error: S3Error, headers?: Readonly<Record<string, string>>) => {
      record.status = error.status;
      record.error = error.code;
      for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
      sendS3Error(res, error, method === "HEAD", requestId);
    };
    const body = await readBody(req, maxObjectBytes + 64 * 1024);
    if (body === undefined) return fail(s3Errors.entityTooLarge());
    const { delayMs, fault } = faults.take(path);
    await sleep(delayMs);
    if (fault !== undefined) {
      record.fault = true;
      if (fault.body === undefined) return fail(faultError(fault), fault.headers);
      record.status = fault.status;
      record.error = fault.code;
      return sendVerbatimFault(res, { ...fault, body: fault.body });
    }
    const principal = await authenticateS3(
      { method, path, query, headers: req.headers, body },
      { region, users, sessions: options.sts?.issued, now: clock() },
    );
    if ("code" in principal) return fail(principal);
    const bucket = bucketName === undefined ? undefined : buckets.get(bucketName);
    if (bucket === undefined)
      return fail(bucketName === undefined ? s3Errors.notImplemented() : s3Errors.noSuchBucket());
    if (!allowed(bucket.allowed, principal)) return fail(s3Errors.accessDenied());
    const headers = { "x-amz-request-id": requestId };
    record.status = 200;
    switch (operation) {
      case "PutObject": {
        const stored = putObject(req.headers, body, clock());
        if ("code" in stored) return fail(stored);
        if (stored.body.length > maxObjectBytes) return fail(s3Errors.entityTooLarge());
        bucket.objects.set(key!, stored);
        res.writeHead(200, {
          ...headers,
          etag: stored.etag,
          "x-amz-checksum-crc32": stored.crc32,
          "content-length": 0,
        });
        return void res.end();
      }
      case "GetObject":
      case "HeadObject": {
        const object = bucket.objects.get(key!);
        if (object === undefined)
          return fail(
            operation === "HeadObject" ? { ...s3Errors.noSuchKey(), code: "NotFound" } : s3Errors.noSuchKey(),
          );
        res.writeHead(200, { ...headers, ...objectHeaders(object, req.headers["x-amz-checksum-mode"] === "ENABLED") });
        return void res.end(operation === "GetObject" ? object.body : undefined);
      }
      case "ListObjectsV2": {
        const xml = listObjectsV2(bucketName!, bucket.objects, query);
        res.writeHead(200, { ...headers, "content-type": "application/xml", "content-length": Buffer.byteLength(xml) });
        return void res.end(xml);
      }
      default:
        return fail(method === "DELETE" || method === "POST" ? s3Errors.notImplemented() : s3Errors.methodNotAllowed());
    }
  };

  const { port, close } = await serveOnLoopback(handle, {
    onError: (res) =>
      sendS3Error(
        res,
        { status: 500, code: "InternalError", message: "We encountered an internal error." },
        false,
        "0",
      ),
  });
  return {
    ...localServerHandle(requests, faults, close),
    endpoint: `http://127.0.0.1:${port}`,
    region,
    objects: (name) => buckets.get(name)?.objects ?? new Map(),
  };
}

/** The S3 error an injected fault without `body` answers with. */
function faultError(fault: QueuedFault): S3Error {
  const { status } = fault;
  const code =
    fault.code ??
    (status === 503
      ? "SlowDown"
      : status >= 500
        ? "InternalError"
        : status === 403
          ? "AccessDenied"
          : status === 404
            ? "NoSuchKey"
            : "InvalidRequest");
  return { status, code, message: fault.message };
}

function allowed(list: string[] | undefined, principal: S3Principal): boolean {
  if (list === undefined) return true;
  return list.some((p) => p === principal.arn || (principal.roleArn !== undefined && p === principal.roleArn));
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
