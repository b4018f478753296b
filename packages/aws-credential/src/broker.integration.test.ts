import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { BrokerError } from "@confspace/ekm-tls";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  GRANT_MAX_SECONDS,
  type LocalAws,
  OTHER_IMAGE_ROLE,
  READER_ROLE,
  startLocalAws,
  until,
} from "../test/local-aws.js";
import { type BrokerOptions, fromBroker } from "./broker.js";
import type { ConfspaceAwsCredentialProvider } from "./provider.js";

const MINUTE = 60_000;
let aws: LocalAws;
const providers: ConfspaceAwsCredentialProvider[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws.stop();
});
afterEach(() => {
  for (const p of providers.splice(0)) p.dispose();
  aws.sts.clearFaults();
  vi.useRealTimers();
});

function provider(options: Partial<BrokerOptions> = {}): ConfspaceAwsCredentialProvider {
  const p = fromBroker({
    brokerUrl: aws.broker.url,
    audience: aws.broker.audience,
    roleArn: READER_ROLE,
    ca: aws.pki.caPem,
    launcher: { socketPath: aws.emulator.socketPath, requestsPerSecond: Number.POSITIVE_INFINITY },
    ...options,
  });
  providers.push(p);
  return p;
}

function s3(credentials: ConfspaceAwsCredentialProvider): S3Client {
  return new S3Client({
    endpoint: aws.s3.endpoint,
    region: aws.s3.region,
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
  });
}

/** AssumeRole calls the broker made for the reader role: one per broker request. */
const assumeRoleCalls = () =>
  aws.sts.requests.filter((c) => c.action === "AssumeRole" && c.roleArn === READER_ROLE).length;
const put = (client: S3Client, key: string) =>
  client.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: key }));

describe("fromBroker against the real token broker, the local STS and the local S3", () => {
  it("puts and gets an object through the official S3 client with a session the broker assumed", async () => {
    const before = assumeRoleCalls();
    const client = s3(provider({ sessionName: "e2e-broker" }));
    await client.send(new PutObjectCommand({ Bucket: aws.bucket, Key: "broker/hello.txt", Body: "via the broker" }));
    const got = await client.send(new GetObjectCommand({ Bucket: aws.bucket, Key: "broker/hello.txt" }));
    expect(await got.Body?.transformToString()).toBe("via the broker");
    expect(assumeRoleCalls() - before).toBe(1);
    expect(aws.sts.requests.at(-1)).toMatchObject({
      action: "AssumeRole",
      // The broker puts the verified project number and instance id first.
      sessionName: "123456789012-4567890123456789012.e2e-broker",
      durationSeconds: GRANT_MAX_SECONDS,
    });
    const session = [...aws.sts.issued.values()].find(
      (s) => s.sessionName === "123456789012-4567890123456789012.e2e-broker",
    )!;
    expect(session.action).toBe("AssumeRole");
    expect(session.tags["container.image_digest"]).toBe(aws.imageDigest);
    expect(new Set(aws.s3.requests.filter((r) => r.key === "broker/hello.txt").map((r) => r.accessKeyId))).toEqual(
      new Set([session.accessKeyId]),
    );
  });

  it("clamps a longer duration to the grant's maximum, and the provider follows the real expiration", async () => {
    const identity = await provider({ durationSeconds: 43_200 })();
    expect(aws.sts.requests.at(-1)).toMatchObject({
      action: "AssumeRole",
      durationSeconds: GRANT_MAX_SECONDS,
      status: 200,
    });
    const remaining = identity.expiration!.getTime() - Date.now();
    expect(remaining).toBeGreaterThan((GRANT_MAX_SECONDS - 10) * 1000);
    expect(remaining).toBeLessThanOrEqual(GRANT_MAX_SECONDS * 1000);
    expect(identity.accountId).toBe("123456789012");
  });

  it("passes a shorter duration through", async () => {
    await provider({ durationSeconds: 900 })();
    expect(aws.sts.requests.at(-1)).toMatchObject({ action: "AssumeRole", durationSeconds: 900 });
  });

  it("is refused a role no grant gives this workload, as ERR_BROKER_DENIED 403, and S3 is never called", async () => {
    const requests = aws.s3.requests.length;
    const stsCalls = aws.sts.requests.length;
    const error = await put(s3(provider({ roleArn: OTHER_IMAGE_ROLE })), "broker/denied").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ code: "ERR_BROKER_DENIED", status: 403, error: "access_denied" });
    expect(aws.s3.requests.length).toBe(requests);
    expect(aws.sts.requests.length).toBe(stsCalls);
  });

  it("reports the broker's upstream failure as ERR_BROKER_UNAVAILABLE", async () => {
    aws.sts.failNext({ status: 503, code: "ServiceUnavailable", count: 10 });
    const error = await provider()().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_BROKER_UNAVAILABLE", status: 503 });
  });

  it("reports an unreachable broker as ERR_BROKER_UNAVAILABLE without a status", async () => {
    const error = await provider({ brokerUrl: "https://127.0.0.1:9" })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ code: "ERR_BROKER_UNAVAILABLE", status: undefined });
  });

  it("reads the broker's URL and audience from the environment", async () => {
    const p = fromBroker({
      roleArn: READER_ROLE,
      ca: aws.pki.caPem,
      launcher: { socketPath: aws.emulator.socketPath, requestsPerSecond: Number.POSITIVE_INFINITY },
      env: { CONFSPACE_BROKER_URL: aws.broker.url, CONFSPACE_BROKER_AUDIENCE: aws.broker.audience },
    });
    providers.push(p);
    expect((await p()).accessKeyId).toMatch(/^ASIA/);
  });
});

describe("fromBroker refresh (Date faked: every clock in the process moves together)", () => {
  it("refreshes once ahead of expiry under concurrent S3 calls: one broker request per refresh", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now();
    const p = provider();
    const client = s3(p);
    const before = assumeRoleCalls();
    await Promise.all(Array.from({ length: 20 }, (_, i) => put(client, `broker-concurrent/a${i}`)));
    expect(assumeRoleCalls() - before).toBe(1);
    const first = (await p()).accessKeyId;

    vi.setSystemTime(start + 26 * MINUTE); // inside the 5-minute window of the 30-minute session
    await Promise.all(Array.from({ length: 20 }, (_, i) => put(client, `broker-concurrent/b${i}`)));
    await until(async () => (await p()).accessKeyId !== first, "the background refresh");
    await Promise.all(Array.from({ length: 20 }, (_, i) => put(client, `broker-concurrent/c${i}`)));
    expect(assumeRoleCalls() - before).toBe(2);
    const requests = aws.s3.requests.filter((r) => r.key?.startsWith("broker-concurrent/"));
    expect(requests.every((r) => r.status === 200)).toBe(true);
    expect(new Set(requests.filter((r) => r.key!.includes("/a")).map((r) => r.accessKeyId))).toEqual(new Set([first]));
    expect(new Set(requests.filter((r) => r.key!.includes("/c")).map((r) => r.accessKeyId)).has(first)).toBe(false);
  });

  it("never signs with expired credentials while the broker cannot get new ones, and recovers", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now();
    const client = s3(provider());
    await put(client, "broker-expiry/0");
    const s3Before = aws.s3.requests.length;
    aws.sts.failNext({ status: 503, code: "ServiceUnavailable", count: 1_000 });
    vi.setSystemTime(start + 31 * MINUTE);
    const error = await put(client, "broker-expiry/1").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_BROKER_UNAVAILABLE" });
    expect(aws.s3.requests.length).toBe(s3Before);
    aws.sts.clearFaults();
    vi.setSystemTime(start + 33 * MINUTE);
    await put(client, "broker-expiry/2");
    const mine = aws.s3.requests.filter((r) => r.key?.startsWith("broker-expiry/"));
    expect(mine.map((r) => r.status)).toEqual([200, 200]);
  });
});
