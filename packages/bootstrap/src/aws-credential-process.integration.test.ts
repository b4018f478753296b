import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { fromProcess } from "@aws-sdk/credential-provider-process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type AwsStack, BROKER_AUDIENCE, BUCKET, ROLE, startAwsStack, WEB_AUDIENCE } from "../test/aws-stack.js";
import { CLI_COMMAND, killAll, PYTHON, recorded, start, startCli } from "../test/processes.js";

interface StsCall {
  action: string;
  status: number;
}

// Sessions live 3 s; each client below uses S3, waits past that expiry, and uses it again.
const SESSION_SECONDS = 3;
let aws: AwsStack;
let dir: string;
let configFile: string;

const webIdentityArgs = () => [
  "aws-credential-process",
  "--role",
  ROLE,
  "--web-identity-audience",
  WEB_AUDIENCE,
  "--region",
  aws.sts.region,
  "--sts-endpoint",
  aws.sts.endpoint,
  "--duration-seconds",
  String(SESSION_SECONDS),
];
const env = () => ({ CONFSPACE_LAUNCHER_SOCKET: aws.emulator.socketPath });
const stsCalls = () => recorded<StsCall>(aws.sts);
const webIdentityCalls = () =>
  stsCalls().filter((c) => c.action === "AssumeRoleWithWebIdentity" && c.status === 200).length;

beforeAll(async () => {
  aws = await startAwsStack();
  dir = await mkdtemp(join(tmpdir(), "confspace-bootstrap-aws-"));
  configFile = join(dir, "config");
  // What a user puts in ~/.aws/config.
  await writeFile(
    configFile,
    `[profile tee]\ncredential_process = ${[...CLI_COMMAND, ...webIdentityArgs()].join(" ")}\nregion = ${aws.s3.region}\n`,
  );
});
afterAll(async () => {
  await aws?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});
afterEach(killAll);

describe("confspace-bootstrap aws-credential-process", () => {
  it("prints the documented credential_process JSON: Version 1, the session's keys, an ISO-8601 Expiration", async () => {
    const run = startCli(webIdentityArgs(), env());
    const { code } = await run.exit;
    expect(run.stderr()).toBe("");
    expect(code).toBe(0);
    const output = JSON.parse(run.stdout());
    expect(Object.keys(output).sort()).toEqual([
      "AccessKeyId",
      "Expiration",
      "SecretAccessKey",
      "SessionToken",
      "Version",
    ]);
    expect(output.Version).toBe(1);
    expect(output.Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const left = Date.parse(output.Expiration) - Date.now();
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(SESSION_SECONDS * 1000);
  });

  it("through the token broker: the broker's session for the granted role", async () => {
    const before = stsCalls().filter((c) => c.action === "AssumeRole").length;
    const run = startCli(
      [
        "aws-credential-process",
        "--role",
        ROLE,
        "--broker-url",
        aws.brokerUrl,
        "--broker-audience",
        BROKER_AUDIENCE,
        "--broker-ca",
        aws.pki.caPath,
      ],
      env(),
    );
    const { code } = await run.exit;
    expect(run.stderr()).toBe("");
    expect(code).toBe(0);
    const output = JSON.parse(run.stdout());
    expect(output).toMatchObject({ Version: 1, AccessKeyId: expect.stringMatching(/^ASIA/) });
    expect(Date.parse(output.Expiration)).toBeGreaterThan(Date.now());
    expect(stsCalls().filter((c) => c.action === "AssumeRole").length).toBe(before + 1);
  });

  it("fails with a message and no output when the role refuses this workload", async () => {
    const run = startCli(
      [
        "aws-credential-process",
        ...webIdentityArgs()
          .slice(1)
          .map((a) => (a === ROLE ? `${ROLE}-other` : a)),
      ],
      env(),
    );
    expect((await run.exit).code).toBe(1);
    expect(run.stdout()).toBe("");
    expect(run.stderr()).toMatch(/^confspace-bootstrap: .+/);
  });

  it("refuses mixing the broker and web-identity paths", async () => {
    const run = startCli([...webIdentityArgs(), "--broker-url", aws.brokerUrl], env());
    expect((await run.exit).code).toBe(2);
    expect(run.stderr()).toContain("choose one");
  });

  it("Python boto3 (credential_process in the AWS config file) keeps using S3 across a session expiry", {
    timeout: 60_000,
  }, async () => {
    const before = webIdentityCalls();
    const script = `
import json, time, boto3, botocore.config
session = boto3.session.Session(profile_name="tee")
s3 = session.client("s3", endpoint_url=${JSON.stringify(aws.s3.endpoint)}, config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
s3.put_object(Bucket="${BUCKET}", Key="py-1", Body=b"one")
time.sleep(${SESSION_SECONDS} + 1)
s3.put_object(Bucket="${BUCKET}", Key="py-2", Body=b"two")
print(json.dumps({"body": s3.get_object(Bucket="${BUCKET}", Key="py-2")["Body"].read().decode()}))
`;
    const run = start(PYTHON, ["-c", script], {
      ...env(),
      AWS_CONFIG_FILE: configFile,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, "none"),
    });
    const { code } = await run.exit;
    expect(run.stderr()).toBe("");
    expect(code).toBe(0);
    expect(JSON.parse(run.stdout())).toEqual({ body: "two" });
    const puts = aws.s3.requests.filter((r) => r.operation === "PutObject" && r.key?.startsWith("py-"));
    expect(puts.map((r) => r.status)).toEqual([200, 200]);
    // The second put was signed with a new session: the first had expired.
    expect(puts[0]?.accessKeyId).not.toBe(puts[1]?.accessKeyId);
    expect(webIdentityCalls() - before).toBeGreaterThanOrEqual(2);
  });

  it("the Node AWS SDK's fromProcess keeps using S3 across a session expiry", { timeout: 60_000 }, async () => {
    const previous = process.env.CONFSPACE_LAUNCHER_SOCKET;
    process.env.CONFSPACE_LAUNCHER_SOCKET = aws.emulator.socketPath; // the SDK runs the process with this process's env
    try {
      const before = webIdentityCalls();
      const credentials = fromProcess({ profile: "tee", configFilepath: configFile, filepath: join(dir, "none") });
      const s3 = new S3Client({
        endpoint: aws.s3.endpoint,
        region: aws.s3.region,
        forcePathStyle: true,
        credentials,
        maxAttempts: 1,
      });
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "node-1", Body: "one" }));
      await new Promise((resolve) => setTimeout(resolve, (SESSION_SECONDS + 1) * 1000));
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "node-2", Body: "two" }));
      const puts = aws.s3.requests.filter((r) => r.operation === "PutObject" && r.key?.startsWith("node-"));
      expect(puts.map((r) => r.status)).toEqual([200, 200]);
      expect(puts[0]?.accessKeyId).not.toBe(puts[1]?.accessKeyId);
      expect(webIdentityCalls() - before).toBeGreaterThanOrEqual(2);
      s3.destroy();
    } finally {
      if (previous === undefined) delete process.env.CONFSPACE_LAUNCHER_SOCKET;
      else process.env.CONFSPACE_LAUNCHER_SOCKET = previous;
    }
  });
});
