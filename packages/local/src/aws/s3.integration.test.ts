import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RawResponse, send, sign, xmlText } from "../../test/aws.js";
import { type LocalS3, startLocalS3 } from "./s3.js";
import type { IssuedAwsSession } from "./sts.js";

const ROLE = "arn:aws:iam::123456789012:role/reader";
const USER = {
  arn: "arn:aws:iam::123456789012:user/admin",
  accessKeyId: "AKIAADMIN00000000001",
  secretAccessKey: "admin-secret",
};
const OUTSIDER = {
  arn: "arn:aws:iam::123456789012:user/outsider",
  accessKeyId: "AKIAOUTSIDER00000001",
  secretAccessKey: "outsider",
};
let now = Date.now();
const session: IssuedAwsSession = {
  action: "AssumeRoleWithWebIdentity",
  accessKeyId: "ASIASESSION000000001",
  secretAccessKey: "session-secret-0123456789abcdefghijklmno",
  sessionToken: "session-token-value",
  roleArn: ROLE,
  assumedRoleArn: "arn:aws:sts::123456789012:assumed-role/reader/s1",
  sessionName: "s1",
  tags: {},
  transitiveTagKeys: [],
  source: "workload",
  issuedAt: now,
  expiresAt: now + 3600_000,
};
const AS_SESSION = {
  accessKeyId: session.accessKeyId,
  secretAccessKey: session.secretAccessKey,
  sessionToken: session.sessionToken,
  service: "s3",
};
let s3: LocalS3;

beforeAll(async () => {
  s3 = await startLocalS3({
    sts: { issued: new Map([[session.accessKeyId, session]]) },
    users: [USER, OUTSIDER],
    buckets: [{ name: "data-bucket", allowedPrincipals: [ROLE, USER.arn] }, "open-bucket"],
    clock: () => now,
  });
});
afterAll(async () => {
  await s3.close();
});

interface Req {
  method: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
}

const sha = (body: string) => createHash("sha256").update(body).digest("hex");

async function signed(
  req: Req,
  options: Partial<Parameters<typeof sign>[2]> = {},
  tamper?: (r: { path: string; headers: Record<string, string>; body: string | undefined }) => void,
): Promise<RawResponse> {
  const body = req.body;
  const headers = await sign(
    s3.endpoint,
    {
      method: req.method,
      path: req.path,
      query: req.query,
      headers: { "x-amz-content-sha256": sha(body ?? ""), ...req.headers },
      body,
    },
    { ...AS_SESSION, signingDate: new Date(now), ...options },
  );
  const query = new URLSearchParams(req.query ?? {}).toString();
  const r = { path: `${req.path}${query ? `?${query}` : ""}`, headers, body };
  tamper?.(r);
  return send(s3.endpoint, { method: req.method, path: r.path, headers: r.headers, body: r.body });
}

const put = (key: string, body: string): Req => ({
  method: "PUT",
  path: `/data-bucket/${key}`,
  body,
  headers: { "content-type": "text/plain" },
});

function expectError(res: RawResponse, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers["content-type"]).toBe("application/xml");
  expect(res.body).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Error><Code>/);
  expect(xmlText(res.body, "Code")).toBe(code);
  expect(xmlText(res.body, "RequestId")).toBe(res.headers["x-amz-request-id"]);
}

describe("local S3", () => {
  it("stores and returns an object signed with session credentials", async () => {
    const res = await signed(put("a/b%20c.txt", "hello"));
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe(`"${createHash("md5").update("hello").digest("hex")}"`);
    const got = await signed({
      method: "GET",
      path: "/data-bucket/a/b%20c.txt",
      headers: { "x-amz-checksum-mode": "ENABLED" },
    });
    expect(got.status).toBe(200);
    expect(got.body).toBe("hello");
    expect(got.headers["content-type"]).toBe("text/plain");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32("hello"));
    expect(got.headers["x-amz-checksum-crc32"]).toBe(crc.toString("base64"));
    expect(s3.objects("data-bucket").get("a/b c.txt")?.body.toString()).toBe("hello");
    expect(s3.requests.at(-1)).toMatchObject({
      operation: "GetObject",
      key: "a/b c.txt",
      accessKeyId: session.accessKeyId,
      status: 200,
    });
  });

  it("decodes aws-chunked bodies and checks their trailing CRC32", async () => {
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32("streamed!"));
    const chunked = `9\r\nstreamed!\r\n0\r\nx-amz-checksum-crc32:${crc.toString("base64")}\r\n\r\n`;
    const headers = {
      "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      "content-encoding": "aws-chunked",
      "x-amz-decoded-content-length": "9",
      "x-amz-trailer": "x-amz-checksum-crc32",
    };
    expect((await signed({ method: "PUT", path: "/data-bucket/chunked", headers, body: chunked })).status).toBe(200);
    expect(s3.objects("data-bucket").get("chunked")?.body.toString()).toBe("streamed!");
    const bad = chunked.replace(crc.toString("base64"), "AAAAAA==");
    expectError(await signed({ method: "PUT", path: "/data-bucket/chunked", headers, body: bad }), 400, "BadDigest");
  });

  type Row = [
    string,
    Partial<Parameters<typeof sign>[2]>,
    ((r: { path: string; headers: Record<string, string>; body: string | undefined }) => void) | undefined,
    number,
    string,
  ];
  const rows: Row[] = [
    ["no Authorization header", {}, (r) => void delete r.headers.authorization, 403, "AccessDenied"],
    ["a wrong secret", { secretAccessKey: "wrong" }, undefined, 403, "SignatureDoesNotMatch"],
    [
      "an unknown access key",
      { accessKeyId: "AKIAUNKNOWN000000000", sessionToken: undefined },
      undefined,
      403,
      "InvalidAccessKeyId",
    ],
    ["a session key without its token", { sessionToken: undefined }, undefined, 403, "InvalidAccessKeyId"],
    ["a forged session token", { sessionToken: "forged" }, undefined, 400, "InvalidToken"],
    [
      "a signature 20 minutes old",
      { signingDate: new Date(now - 20 * 60_000) },
      undefined,
      403,
      "RequestTimeTooSkewed",
    ],
    ["another region", { region: "eu-west-1" }, undefined, 400, "AuthorizationHeaderMalformed"],
    ["another service", { service: "sts" }, undefined, 400, "AuthorizationHeaderMalformed"],
    [
      "a body changed after signing",
      {},
      (r) => {
        r.body = "HELLO";
      },
      400,
      "XAmzContentSHA256Mismatch",
    ],
    [
      "a key changed after signing",
      {},
      (r) => {
        r.path = r.path.replace("row", "wor");
      },
      403,
      "SignatureDoesNotMatch",
    ],
    [
      "a query added after signing",
      {},
      (r) => {
        r.path = `${r.path}?versionId=1`;
      },
      403,
      "SignatureDoesNotMatch",
    ],
    [
      "a signed header changed after signing",
      {},
      (r) => {
        r.headers["content-type"] = "text/html";
      },
      403,
      "SignatureDoesNotMatch",
    ],
    ["no x-amz-content-sha256", {}, (r) => void delete r.headers["x-amz-content-sha256"], 400, "InvalidRequest"],
    [
      "a malformed Authorization header",
      {},
      (r) => {
        r.headers.authorization = "AWS4-HMAC-SHA256 Credential=x";
      },
      400,
      "AuthorizationHeaderMalformed",
    ],
  ];
  it.each(rows)("refuses a request with %s", async (_name, options, tamper, status, code) => {
    expectError(await signed(put("row", "hello"), options, tamper), status, code);
  });

  it("refuses a session past its expiration with ExpiredToken, and long-term keys keep working", async () => {
    const saved = now;
    now = session.expiresAt;
    try {
      expectError(await signed(put("late", "x")), 400, "ExpiredToken");
      const asUser = { accessKeyId: USER.accessKeyId, secretAccessKey: USER.secretAccessKey, sessionToken: undefined };
      expect((await signed(put("late", "x"), asUser)).status).toBe(200);
    } finally {
      now = saved;
    }
  });

  it("answers NoSuchBucket, AccessDenied for principals the bucket does not list, NoSuchKey and a bodiless HEAD 404", async () => {
    expectError(await signed({ method: "GET", path: "/no-such-bucket/x" }), 404, "NoSuchBucket");
    const outsider = {
      accessKeyId: OUTSIDER.accessKeyId,
      secretAccessKey: OUTSIDER.secretAccessKey,
      sessionToken: undefined,
    };
    expectError(await signed({ method: "GET", path: "/data-bucket/a/b%20c.txt" }, outsider), 403, "AccessDenied");
    expect((await signed({ method: "PUT", path: "/open-bucket/x", body: "ok" }, outsider)).status).toBe(200);
    expectError(await signed({ method: "GET", path: "/data-bucket/missing" }), 404, "NoSuchKey");
    const head = await signed({ method: "HEAD", path: "/data-bucket/missing" });
    expect(head.status).toBe(404);
    expect(head.body).toBe("");
    expectError(await signed({ method: "DELETE", path: "/data-bucket/a/b%20c.txt" }), 501, "NotImplemented");
  });

  it("failNext answers S3's XML error (503 SlowDown by default) before checking the signature, then serves again", async () => {
    s3.failNext({ status: 503, count: 2 });
    for (let i = 0; i < 2; i++) {
      const res = await signed(put("fault.txt", "x"));
      expect(res.status).toBe(503);
      expect(res.body).toContain("<Code>SlowDown</Code>");
    }
    expect(s3.requests.at(-1)).toMatchObject({
      operation: "PutObject",
      status: 503,
      error: "SlowDown",
      fault: true,
      headers: { authorization: "[redacted]", "x-amz-security-token": "[redacted]" },
    });
    expect((await signed(put("fault.txt", "x"))).status).toBe(200);
  });

  it("pathPrefix keeps a fault for one bucket; delayNext holds a request back", async () => {
    s3.failNext({ status: 500, code: "InternalError", pathPrefix: "/open-bucket/" });
    s3.delayNext(300);
    const started = Date.now();
    expect((await signed(put("other.txt", "x"))).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    s3.clearFaults();
    expect(s3.requests.at(-1)).toMatchObject({ fault: false, error: undefined });
  });

  it("lists objects with prefix, delimiter and continuation", async () => {
    for (const key of ["list/1", "list/2", "list/sub/3"]) expect((await signed(put(key, key))).status).toBe(200);
    const all = await signed({
      method: "GET",
      path: "/data-bucket/",
      query: { "list-type": "2", prefix: "list/", delimiter: "/" },
    });
    expect(all.status).toBe(200);
    expect([...all.body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1])).toEqual(["list/1", "list/2"]);
    expect(all.body).toContain("<CommonPrefixes><Prefix>list/sub/</Prefix></CommonPrefixes>");
    const page = await signed({
      method: "GET",
      path: "/data-bucket/",
      query: { "list-type": "2", prefix: "list/", "max-keys": "1" },
    });
    expect(xmlText(page.body, "IsTruncated")).toBe("true");
    const next = xmlText(page.body, "NextContinuationToken")!;
    const rest = await signed({
      method: "GET",
      path: "/data-bucket/",
      query: { "list-type": "2", prefix: "list/", "continuation-token": next },
    });
    expect([...rest.body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1])).toEqual(["list/2", "list/sub/3"]);
  });

  it("refuses an invalid bucket name at start", async () => {
    await expect(startLocalS3({ buckets: ["ab"] })).rejects.toMatchObject({
      code: "ERR_INVALID_OPTION",
      option: "buckets",
    });
  });
});
