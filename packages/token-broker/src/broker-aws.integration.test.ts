import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  BROKER_USER_ARN,
  OTHER_ROLE_ARN,
  ROLE_ARN,
  type RunningBroker,
  startTestEnvironment,
  type TestEnvironment,
} from "../test/harness.js";

describe("broker: AWS role credentials", () => {
  let env: TestEnvironment;
  let running: RunningBroker;

  beforeAll(async () => {
    env = await startTestEnvironment();
    running = await env.startBroker();
  });
  afterAll(async () => {
    await env?.stop();
  });
  // STS calls made by the current test.
  let first = 0;
  const calls = () => env.sts.requests.slice(first);
  beforeEach(() => {
    first = env.sts.requests.length;
  });

  const aws = (fields: Record<string, unknown> = {}) => ({ body: { provider: "aws", role_arn: ROLE_ARN, ...fields } });

  it("assumes a granted role and returns the credentials STS issued", async () => {
    const res = await running.request(aws({ session_name: "app-42", duration_seconds: 900 }));
    expect(res.status).toBe(200);
    const issued = env.sts.issued.get(res.json.access_key_id as string)!;
    expect(res.json).toEqual({
      access_key_id: issued.accessKeyId,
      secret_access_key: issued.secretAccessKey,
      session_token: issued.sessionToken,
      expiration: new Date(Math.floor(issued.expiresAt / 1000) * 1000).toISOString(),
    });
    expect(issued).toMatchObject({
      action: "AssumeRole",
      roleArn: ROLE_ARN,
      sessionName: "app-42",
      source: BROKER_USER_ARN,
    });
    expect(calls()).toHaveLength(1);
    expect(calls()[0]).toMatchObject({
      action: "AssumeRole",
      roleArn: ROLE_ARN,
      sessionName: "app-42",
      durationSeconds: 900,
    });
  });

  it("sends session tags taken from the verified claims (the role's trust policy requires the digest tag)", async () => {
    const res = await running.request(aws());
    expect(res.status).toBe(200);
    expect(env.sts.issued.get(res.json.access_key_id as string)!.tags).toEqual({
      "container.image_digest": env.imageDigest,
      "gce.project_id": "confspace-emulator",
      "confidential_space.support_attributes": "LATEST=STABLE=USABLE",
    });
  });

  it("clamps the duration to the grant's maximum and defaults to it", async () => {
    await running.request(aws({ duration_seconds: 43_200 }));
    await running.request(aws());
    expect(calls().map((call) => [call.durationSeconds, call.status])).toEqual([
      [1800, 200],
      [1800, 200],
    ]);
  });

  it("names the session after the instance when the workload gives no name", async () => {
    await running.request(aws());
    expect(calls()[0]!.sessionName).toBe("confspace-4567890123456789012");
  });

  it("refuses a role outside the grant without calling STS: 403", async () => {
    const res = await running.request(aws({ role_arn: OTHER_ROLE_ARN }));
    expect(res.status).toBe(403);
    expect(res.json.error_description).toBe("no grant matching this workload gives this role");
    expect(calls()).toHaveLength(0);
  });

  it("refuses a role granted to another image: 403", async () => {
    const res = await running.request({
      ...aws(),
      token: {
        mutateClaims: (claims) => {
          (claims.submods as { gce: { project_id: string } }).gce.project_id = "another-project";
        },
      },
    });
    expect(res.status).toBe(403);
    expect(calls()).toHaveLength(0);
  });

  it("refuses, rather than rewrites, a session tag value AWS would not accept: 403", async () => {
    const tagged = await env.startBroker(
      env.config((config) => {
        config.grants[0]!.aws![0]!.sessionTags = {
          "container.image_digest": "submods.container.image_digest",
          hostname: "submods.container.env.HOSTNAME",
        };
      }),
    );
    const mutateClaims = (value: string) => (claims: Record<string, unknown>) => {
      (claims.submods as { container: { env: Record<string, string> } }).container.env.HOSTNAME = value;
    };
    const bad = await tagged.request({ ...aws(), token: { mutateClaims: mutateClaims("host<script>") } });
    expect(bad.status).toBe(403);
    expect(bad.json.error_description).toMatch(/session tag "hostname"/);
    const long = await tagged.request({ ...aws(), token: { mutateClaims: mutateClaims("h".repeat(257)) } });
    expect(long.status).toBe(403);
    expect(calls()).toHaveLength(0);
    const good = await tagged.request({ ...aws(), token: { mutateClaims: mutateClaims("web-1.example") } });
    expect(good.status).toBe(200);
    expect(env.sts.issued.get(good.json.access_key_id as string)!.tags).toEqual({
      "container.image_digest": env.imageDigest,
      hostname: "web-1.example",
    });
  });

  it("makes one STS call for identical requests in flight together", async () => {
    // Long enough that every request joins the first call even on a loaded machine.
    env.sts.delayNext(1_500);
    const results = await Promise.all(Array.from({ length: 8 }, () => running.request(aws({ session_name: "same" }))));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(calls()).toHaveLength(1);
    expect(new Set(results.map((r) => r.json.access_key_id)).size).toBe(1);
    // Once settled, nothing is cached: the next request is a new session.
    await running.request(aws({ session_name: "same" }));
    expect(calls()).toHaveLength(2);
  });

  it("answers an STS failure with 503 and Retry-After, without STS's error text", async () => {
    env.sts.failNext({
      status: 403,
      code: "AccessDenied",
      message: "User: arn:aws:iam::123456789012:user/broker is not authorized SECRET-DETAIL",
    });
    const res = await running.request(aws());
    expect(res.status).toBe(503);
    expect(res.json.error).toBe("upstream_unavailable");
    expect(Number(res.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(res.text).not.toMatch(/AccessDenied|SECRET-DETAIL|arn:aws:iam/);
  });
});
