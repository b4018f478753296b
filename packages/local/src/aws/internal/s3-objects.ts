import { createHash } from "node:crypto";
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import { crc32 } from "node:zlib";
import { decodeAwsChunked } from "./aws-chunked.js";
import { type S3Error, s3Errors } from "./s3-errors.js";
import { xmlDocument } from "./xml.js";

/** An object held in memory. */
export interface StoredObject {
  body: Buffer;
  contentType: string;
  /** `"md5hex"`, quotes included, as S3 sends it. */
  etag: string;
  /** Base64 CRC32 of the body. */
  crc32: string;
  lastModified: number;
}

const S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

/** Reads the payload of a `PutObject` (plain or `aws-chunked`) and checks a declared CRC32. */
export function putObject(headers: IncomingHttpHeaders, body: Buffer, now: number): StoredObject | S3Error {
  let payload = body;
  let declaredCrc = headers["x-amz-checksum-crc32"] as string | undefined;
  if (headers["x-amz-content-sha256"] === "STREAMING-UNSIGNED-PAYLOAD-TRAILER") {
    const decoded = decodeAwsChunked(body);
    if (decoded === undefined) return s3Errors.incompleteBody();
    payload = decoded.payload;
    declaredCrc ??= decoded.trailers.get("x-amz-checksum-crc32");
    const declaredLength = Number(headers["x-amz-decoded-content-length"]);
    if (Number.isFinite(declaredLength) && declaredLength !== payload.length) return s3Errors.incompleteBody();
  }
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(payload));
  if (declaredCrc !== undefined && declaredCrc !== crc.toString("base64")) return s3Errors.badDigest();
  return {
    body: payload,
    contentType: (headers["content-type"] as string | undefined) ?? "binary/octet-stream",
    etag: `"${createHash("md5").update(payload).digest("hex")}"`,
    crc32: crc.toString("base64"),
    lastModified: now,
  };
}

/** Headers of a `GetObject`/`HeadObject` reply. */
export function objectHeaders(object: StoredObject, withChecksum: boolean): Record<string, string | number> {
  return {
    "content-type": object.contentType,
    "content-length": object.body.length,
    etag: object.etag,
    "last-modified": new Date(object.lastModified).toUTCString(),
    "accept-ranges": "bytes",
    ...(withChecksum ? { "x-amz-checksum-crc32": object.crc32, "x-amz-checksum-type": "FULL_OBJECT" } : {}),
  };
}

/** `ListObjectsV2` over a bucket's keys: prefix, delimiter, max-keys, continuation token (UTF-8 sorted). */
export function listObjectsV2(
  bucket: string,
  objects: ReadonlyMap<string, StoredObject>,
  query: Record<string, string | string[]>,
): string {
  const one = (name: string) => {
    const value = query[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const prefix = one("prefix") ?? "";
  const delimiter = one("delimiter") || undefined;
  const maxKeys = Math.min(Math.max(Number(one("max-keys") ?? 1000) || 0, 0), 1000);
  const token = one("continuation-token");
  const startAfter = token !== undefined ? Buffer.from(token, "base64url").toString("utf8") : one("start-after");
  const keys = [...objects.keys()]
    .filter((k) => k.startsWith(prefix))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const contents: string[] = [];
  const prefixes = new Set<string>();
  let truncated = false;
  let last: string | undefined;
  for (const key of keys) {
    if (startAfter !== undefined && Buffer.compare(Buffer.from(key), Buffer.from(startAfter)) <= 0) continue;
    const cut = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length);
    const common = cut < 0 ? undefined : key.slice(0, cut + delimiter!.length);
    if (common !== undefined && prefixes.has(common)) continue;
    if (contents.length + prefixes.size >= maxKeys) {
      truncated = true;
      break;
    }
    if (common !== undefined) prefixes.add(common);
    else contents.push(key);
    last = key;
  }
  return xmlDocument("ListBucketResult", S3_XMLNS, {
    Name: bucket,
    Prefix: prefix,
    Delimiter: delimiter,
    KeyCount: String(contents.length + prefixes.size),
    MaxKeys: String(maxKeys),
    IsTruncated: String(truncated),
    ContinuationToken: one("continuation-token"),
    NextContinuationToken: truncated && last !== undefined ? Buffer.from(last).toString("base64url") : undefined,
    Contents: contents.map((key) => {
      const o = objects.get(key)!;
      return {
        Key: key,
        LastModified: new Date(o.lastModified).toISOString(),
        ETag: o.etag,
        Size: String(o.body.length),
        StorageClass: "STANDARD",
      };
    }),
    CommonPrefixes: [...prefixes].map((p) => ({ Prefix: p })),
  });
}

/** Sends an S3 error (no body for HEAD, as S3 does). */
export function sendS3Error(res: ServerResponse, error: S3Error, head: boolean, requestId: string): void {
  const xml = xmlDocument("Error", undefined, {
    Code: error.code,
    Message: error.message,
    RequestId: requestId,
    HostId: "confspace-local-s3",
  });
  res.writeHead(error.status, {
    "content-type": "application/xml",
    "x-amz-request-id": requestId,
    ...(head ? {} : { "content-length": Buffer.byteLength(xml) }),
  });
  res.end(head ? undefined : xml);
}
