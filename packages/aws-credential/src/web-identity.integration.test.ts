import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { AwsCredentialIdentityProvider } from "@aws-sdk/types";
import { LauncherError } from "@confspace/attestation";
import { ConfspaceError } from "@confspace/core";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type LocalAws,
  OIDC_ROLE,
  OTHER_IMAGE_ROLE,
  READER_ROLE,
  SHORT_ROLE,
  startLocalAws,
} from "../test/local-aws.js";
import { AwsStsError } from "./errors.js";
import type { ConfspaceAwsCredentialProvider } from "./provider.js";
import { fromWebIdentity, type WebIdentityOptions } from "./web-identity.js";

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
  aws.emulator.clearFaults();
  vi.useRealTimers();
});

function provider(options: Partial<WebIdentityOptions> = {}): ConfspaceAwsCredentialProvider {
  const p = fromWebIdentity({
    roleArn: READER_ROLE,
    audience: aws.audience,
    stsEndpoint: aws.sts.endpoint,
    region: aws.sts.region,
    launcher: { socketPath: aws.emulator.socketPath, requestsPerSecond: Number.POSITIVE_INFINITY },
    ...options,
  });
  providers.push(p);
  return p;
}

function s3(credentials: AwsCredentialIdentityProvider): S3Client {
  return new S3Client({
    endpoint: aws.s3.endpoint,
    region: aws.s3.region,
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
  });
}

const stsCalls = (role = READER_ROLE) => aws.sts.requests.filter((c) => c.roleArn === role);

async function putAndGet(client: S3Client, key: string, body: string): Promise<string | undefined> {
  await client.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: body }));
  const got = await client.send(new GetObjectCommand({ Bucket: aws.bucket, Key: key }));
  return got.Body?.transformToString();
}

describe("fromWebIdentity against the emulator, the local STS and the local S3", () => {
  it("puts and gets an object through the official S3 client with AWS_PRINCIPALTAGS session tags", async () => {
    const before = stsCalls().length;
    const client = s3(provider({ sessionName: "e2e-web-identity" }));
    expect(await putAndGet(client, "web-identity/hello.txt", "hello from the TEE")).toBe("hello from the TEE");
    expect(stsCalls().length - before).toBe(1);
    const call = stsCalls().at(-1)!;
    expect(call).toMatchObject({ action: "AssumeRoleWithWebIdentity", sessionName: "e2e-web-identity", status: 200 });
    const session = [...aws.sts.issued.values()].find((s) => s.sessionName === "e2e-web-identity")!;
    expect(session.tags["container.image_digest"]).toBe(aws.imageDigest);
    expect(session.tags["confidential_space.support_attributes"]).toBe("LATEST=STABLE=USABLE");
    const signedWith = aws.s3.requests.filter((r) => r.key === "web-identity/hello.txt").map((r) => r.accessKeyId);
    expect(new Set(signedWith)).toEqual(new Set([session.accessKeyId]));
  });

  it("returns credentials with expiration and accountId, and marks itself memoized", async () => {
    const p = provider();
    const identity = await p();
    expect(p.memoized).toBe(true);
    expect(identity.expiration).toBeInstanceOf(Date);
    expect(identity.expiration!.getTime()).toBeGreaterThan(Date.now() + 3_500_000);
    expect(identity.accountId).toBe("123456789012");
    expect(identity.accessKeyId).toMatch(/^ASIA/);
  });

  it("is called by the S3 client for every request (no second cache), with one STS call for all of them", async () => {
    const p = provider();
    const count = (memoized: boolean) => {
      const counter = { calls: 0 };
      const wrapped = async (props?: Record<string, unknown>) => {
        counter.calls += 1;
        return p(props);
      };
      return { counter, provider: memoized ? Object.assign(wrapped, { memoized: true as const }) : wrapped };
    };
    const before = stsCalls().length;
    const marked = count(true);
    const unmarked = count(false);
    for (const { provider: credentials } of [marked, unmarked]) {
      const client = s3(credentials);
      for (let i = 0; i < 3; i += 1)
        await client.send(new PutObjectCommand({ Bucket: aws.bucket, Key: `per-request/${i}`, Body: "x" }));
    }
    expect(marked.counter.calls).toBeGreaterThanOrEqual(3);
    // Without the mark, the SDK wraps the provider in its own cache and asks once.
    expect(unmarked.counter.calls).toBe(1);
    expect(stsCalls().length - before).toBe(1);
  });

  it("names the session after the instance id by default", async () => {
    await provider()();
    const instanceId = (aws.emulator.claims().submods as { gce: { instance_id: string } }).gce.instance_id;
    expect(stsCalls().at(-1)!.sessionName).toBe(`confspace-${instanceId}`);
  });

  it("works with OIDC tokens against a role that checks only the audience", async () => {
    const client = s3(provider({ roleArn: OIDC_ROLE, tokenType: "OIDC" }));
    expect(await putAndGet(client, "oidc.txt", "plain")).toBe("plain");
    const session = [...aws.sts.issued.values()].find((s) => s.roleArn === OIDC_ROLE)!;
    expect(session.tags).toEqual({});
  });

  it("is denied a role whose trust policy pins another image digest, with AWS's code, and S3 is never called", async () => {
    const requests = aws.s3.requests.length;
    const error = await s3(provider({ roleArn: OTHER_IMAGE_ROLE }))
      .send(new GetObjectCommand({ Bucket: aws.bucket, Key: "web-identity/hello.txt" }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsStsError);
    expect(error).toMatchObject({
      code: "ERR_AWS_STS",
      awsCode: "AccessDenied",
      status: 403,
      operation: "AssumeRoleWithWebIdentity",
      roleArn: OTHER_IMAGE_ROLE,
      retryable: false,
    });
    expect((error as Error).message).toContain("trust policy");
    expect(aws.s3.requests.length).toBe(requests);
  });

  it("is denied when the role does not allow sts:TagSession for the principal tags", async () => {
    // OIDC_ROLE allows AssumeRoleWithWebIdentity but not TagSession: AWS_PRINCIPALTAGS tokens are refused.
    const error = await provider({ roleArn: OIDC_ROLE })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_AWS_STS", awsCode: "AccessDenied", status: 403 });
  });

  it("reports an audience that no IAM OIDC provider lists as InvalidIdentityToken", async () => {
    const error = await provider({ audience: "https://not-registered.example" })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_AWS_STS", awsCode: "InvalidIdentityToken", status: 400 });
  });

  it("reports a duration above the role's maximum as ValidationError instead of shortening it", async () => {
    const error = await provider({ roleArn: SHORT_ROLE, durationSeconds: 3600 })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_AWS_STS", awsCode: "ValidationError", status: 400 });
    const identity = await provider({ roleArn: SHORT_ROLE, durationSeconds: 900 })();
    expect(identity.expiration!.getTime() - Date.now()).toBeLessThanOrEqual(900_000);
  });

  it("reports throttling as retryable with AWS's code and HTTP status", async () => {
    aws.sts.failNext({ status: 400, code: "Throttling", message: "Rate exceeded", count: 1 });
    const error = await provider({ clientConfig: { maxAttempts: 1 } })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_AWS_STS", awsCode: "Throttling", status: 400, retryable: true });
    expect(error).toBeInstanceOf(ConfspaceError);
  });

  it("reports an unreachable STS as AwsStsError without a status", async () => {
    const error = await provider({ stsEndpoint: "http://127.0.0.1:9", clientConfig: { maxAttempts: 1 } })().catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AwsStsError);
    expect((error as AwsStsError).status).toBeUndefined();
    expect((error as AwsStsError).retryable).toBe(true);
  });

  it("passes the launcher's errors through unchanged", async () => {
    aws.emulator.failNext({ status: 400, body: "failed to retrieve custom attestation service token: boom", count: 1 });
    const error = await provider()().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LauncherError);
  });

  it("rejects after dispose with ERR_DISPOSED", async () => {
    const p = provider();
    await p();
    p.dispose();
    await expect(p()).rejects.toMatchObject({ code: "ERR_DISPOSED" });
  });
});
