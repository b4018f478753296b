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
  /** The emulator's default instance: `{project number}-{instance id}`. */
  const BASE = "123456789012-4567890123456789012";
  const asInstance = (instanceId: string) => ({
    mutateClaims: (claims: Record<string, unknown>) => {
      (claims.submods as { gce: { instance_id: string } }).gce.instance_id = instanceId;
    },
  });

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
      sessionName: `${BASE}.app-42`,
      source: BROKER_USER_ARN,
    });
    expect(calls()).toHaveLength(1);
    expect(calls()[0]).toMatchObject({
      action: "AssumeRole",
      roleArn: ROLE_ARN,
      sessionName: `${BASE}.app-42`,
      durationSeconds: 900,
      sourceIdentity: undefined,
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

  it("names the session after the verified project number and instance when the workload gives no name", async () => {
    await running.request(aws());
    expect(calls()[0]!.sessionName).toBe(BASE);
  });

  it("never lets a workload pick another workload's session name: its name only follows its own", async () => {
    // Instance 1111 asks for exactly the name instance 4567… gets, and for a look-alike.
    const copy = await running.request({ ...aws({ session_name: BASE }), token: asInstance("1111") });
    const lookAlike = await running.request({
      ...aws({ session_name: "4567890123456789012" }),
      token: asInstance("123456789012"),
    });
    expect([copy.status, lookAlike.status]).toEqual([200, 200]);
    expect(calls().map((call) => call.sessionName)).toEqual([
      `123456789012-1111.${BASE}`,
      "123456789012-123456789012.4567890123456789012",
    ]);
    expect(calls().every((call) => call.sessionName !== BASE)).toBe(true);
  });

  it("refuses a session_name that does not fit after the verified name, without calling STS: 400", async () => {
    const res = await running.request(aws({ session_name: "x".repeat(32) }));
    expect(res.status).toBe(400);
    expect(res.json.error_description).toMatch(/at most 31 characters fit/);
    const fits = await running.request(aws({ session_name: "x".repeat(31) }));
    expect(fits.status).toBe(200);
    expect(calls().map((call) => call.sessionName)).toEqual([`${BASE}.${"x".repeat(31)}`]);
  });

  it("refuses a token naming no instance: 403, since its session could not be told apart", async () => {
    const res = await running.request({
      ...aws(),
      token: {
        mutateClaims: (claims) => {
          delete (claims.submods as { gce: { instance_id?: string } }).gce.instance_id;
        },
      },
    });
    expect(res.status).toBe(403);
    expect(res.json.error_description).toMatch(/instance_id/);
    expect(calls()).toHaveLength(0);
  });

  it("sends the verified name as SourceIdentity where the grant says the role allows it", async () => {
    const withSource = await env.startBroker(
      env.config((config) => {
        config.grants[0]!.aws![0]!.setSourceIdentity = true;
        config.grants[0]!.aws!.push({ roleArn: OTHER_ROLE_ARN, setSourceIdentity: true });
      }),
    );
    const res = await withSource.request(aws({ session_name: "job-7" }));
    expect(res.status).toBe(200);
    expect(env.sts.issued.get(res.json.access_key_id as string)).toMatchObject({
      sessionName: `${BASE}.job-7`,
      sourceIdentity: BASE,
    });
    // OTHER_ROLE_ARN's trust policy does not allow sts:SetSourceIdentity: STS refuses, as AWS does.
    const refused = await withSource.request(aws({ role_arn: OTHER_ROLE_ARN }));
    expect(refused.status).toBe(503);
    expect(calls().map((call) => [call.sourceIdentity, call.status, call.error])).toEqual([
      [BASE, 200, undefined],
      [BASE, 403, "AccessDenied"],
    ]);
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
