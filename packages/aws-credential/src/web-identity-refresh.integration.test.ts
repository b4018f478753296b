import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { AwsCredentialIdentityProvider } from "@aws-sdk/types";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { type LocalAws, READER_ROLE, startLocalAws, until } from "../test/local-aws.js";
import type { ConfspaceAwsCredentialProvider } from "./provider.js";
import { fromWebIdentity } from "./web-identity.js";

// Only Date is faked: every clock in this process (SDK signing, local STS and S3, emulator,
// TokenCache) moves together when the test sets the time, while sockets and timers stay real.
const MINUTE = 60_000;
let aws: LocalAws;
let p: ConfspaceAwsCredentialProvider;
let start: number;
let s3RequestsBefore: number;

beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws.stop();
});
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  start = Date.now();
  s3RequestsBefore = aws.s3.requests.length;
  aws.sts.clearFaults();
  p = fromWebIdentity({
    roleArn: READER_ROLE,
    audience: aws.audience,
    stsEndpoint: aws.sts.endpoint,
    region: aws.sts.region,
    clientConfig: { maxAttempts: 1 },
    launcher: { socketPath: aws.emulator.socketPath, requestsPerSecond: Number.POSITIVE_INFINITY },
  });
});
afterEach(() => {
  p.dispose();
  vi.useRealTimers();
});

function s3(credentials: AwsCredentialIdentityProvider): S3Client {
  return new S3Client({
    endpoint: aws.s3.endpoint,
    region: aws.s3.region,
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
  });
}

const put = (client: S3Client, key: string) =>
  client.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: key }));
const calls = () => aws.sts.requests.filter((c) => c.roleArn === READER_ROLE).length;
/** ExpiredToken replies of the local S3 since this test began. */
const expiredTokenReplies = () =>
  aws.s3.requests.slice(s3RequestsBefore).filter((r) => r.error === "ExpiredToken").length;

describe("fromWebIdentity refresh with the official S3 client", () => {
  it("refreshes once ahead of expiry under concurrent S3 calls, without blocking them", async () => {
    const client = s3(p);
    const before = calls();
    await Promise.all(Array.from({ length: 20 }, (_, i) => put(client, `concurrent/a${i}`)));
    expect(calls() - before).toBe(1);
    const first = (await p()).accessKeyId;

    vi.setSystemTime(start + 56 * MINUTE); // inside the 5-minute refresh window of a 60-minute session
    await Promise.all(Array.from({ length: 20 }, (_, i) => put(client, `concurrent/b${i}`)));
    // The refresh is done when the provider hands out the new session (STS records the call earlier).
    await until(async () => (await p()).accessKeyId !== first, "the background refresh");
    await Promise.all(Array.from({ length: 20 }, (_, i) => put(client, `concurrent/c${i}`)));
    expect(calls() - before).toBe(2);

    const second = (await p()).accessKeyId;
    expect(second).not.toBe(first);
    const signers = (prefix: string) =>
      new Set(aws.s3.requests.filter((r) => r.key?.startsWith(prefix)).map((r) => r.accessKeyId));
    expect(signers("concurrent/a")).toEqual(new Set([first]));
    expect(signers("concurrent/c")).toEqual(new Set([second]));
    expect(aws.s3.requests.filter((r) => r.key?.startsWith("concurrent/")).every((r) => r.status === 200)).toBe(true);
  });

  it("never signs with expired credentials while STS is failing, and recovers after", async () => {
    const client = s3(p);
    await put(client, "expiry/0");
    const before = calls();
    const s3Before = aws.s3.requests.length;
    aws.sts.failNext({ status: 503, code: "ServiceUnavailable", count: 1_000 });

    vi.setSystemTime(start + 58 * MINUTE);
    await put(client, "expiry/1"); // still valid: served from cache while the refresh fails
    await until(() => calls() > before, "a failed refresh");

    vi.setSystemTime(start + 61 * MINUTE); // past expiry, no new credentials
    const error = await put(client, "expiry/2").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: expect.stringMatching(/^ERR_(AWS_STS|TOKEN_UNAVAILABLE)$/) });
    expect(aws.s3.requests.length - s3Before).toBe(1); // only expiry/1 reached S3

    aws.sts.clearFaults();
    vi.setSystemTime(start + 63 * MINUTE); // past the backoff
    await put(client, "expiry/3");
    expect(aws.s3.requests.at(-1)).toMatchObject({ key: "expiry/3", status: 200 });
    expect(expiredTokenReplies()).toBe(0);
  });

  it("fetches again before use when time jumps past expiry with no refresh in between", async () => {
    const client = s3(p);
    await put(client, "jump/0");
    const before = calls();
    vi.setSystemTime(start + 2 * 60 * MINUTE);
    await put(client, "jump/1");
    expect(calls() - before).toBe(1);
    expect(aws.s3.requests.at(-1)).toMatchObject({ key: "jump/1", status: 200 });
    expect(expiredTokenReplies()).toBe(0);
  });

  it("keeps working when the SDK memoizes it itself (wrapped without `memoized`), because expiration is set", async () => {
    const wrapped: AwsCredentialIdentityProvider = (props) => p(props);
    const client = s3(wrapped);
    await put(client, "wrapped/0");
    vi.setSystemTime(start + 61 * MINUTE);
    await put(client, "wrapped/1");
    expect(aws.s3.requests.at(-1)).toMatchObject({ key: "wrapped/1", status: 200 });
    expect(expiredTokenReplies()).toBe(0);
  });

  it("shows why expiration matters: without it the SDK caches credentials forever and S3 answers ExpiredToken", async () => {
    const withoutExpiration: AwsCredentialIdentityProvider = async (props) => {
      const { expiration: _dropped, ...rest } = await p(props);
      return rest;
    };
    const client = s3(withoutExpiration);
    await put(client, "no-expiration/0");
    vi.setSystemTime(start + 61 * MINUTE);
    const error = await put(client, "no-expiration/1").catch((e: unknown) => e);
    expect((error as { name?: string }).name).toBe("ExpiredToken");
    expect(aws.s3.requests.at(-1)).toMatchObject({ key: "no-expiration/1", status: 400, error: "ExpiredToken" });
  });

  it("asks for a fresh attestation token on every refresh", async () => {
    const getToken = vi.fn(async (options?: { forceRefresh?: boolean }) => {
      expect(options?.forceRefresh).toBe(true);
      return aws.emulator.mintToken({ audience: aws.audience, tokenType: "AWS_PRINCIPALTAGS" });
    });
    const custom = fromWebIdentity({
      roleArn: READER_ROLE,
      audience: aws.audience,
      stsEndpoint: aws.sts.endpoint,
      region: aws.sts.region,
      tokenSource: { getToken },
    });
    try {
      await custom();
      vi.setSystemTime(start + 2 * 60 * MINUTE);
      await custom();
      vi.setSystemTime(start + 4 * 60 * MINUTE);
      await custom();
      expect(getToken).toHaveBeenCalledTimes(3);
    } finally {
      custom.dispose();
    }
  });
});
