import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type AwsStack, BUCKET, ROLE, startAwsStack, WEB_AUDIENCE } from "../test/aws-stack.js";
import { type GoogleStack, KEY, PROVIDER, startGoogleStack } from "../test/google-stack.js";
import { killAll, PYTHON, startCli } from "../test/processes.js";

// The AWS and Google doubles trust different emulators: the app's AWS path gets custom
// tokens from the AWS stack's launcher socket, its Google path the Google stack's token file.
let aws: AwsStack;
let google: GoogleStack;
let dir: string;

beforeAll(async () => {
  [aws, google] = await Promise.all([startAwsStack(), startGoogleStack()]);
  dir = await mkdtemp(join(tmpdir(), "confspace-bootstrap-files-"));
});
afterAll(async () => {
  await Promise.allSettled([aws?.stop(), google?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});
afterEach(killAll);

describe("aws: and google: sections", () => {
  it("give an unmodified Python app working boto3 and google-auth credentials through confspace-bootstrap's own helpers", {
    timeout: 60_000,
  }, async () => {
    const config = join(dir, "bootstrap.yaml");
    await writeFile(
      config,
      [
        "aws:",
        `  roleArn: "${ROLE}"`,
        `  webIdentityAudience: "${WEB_AUDIENCE}"`,
        `  region: "${aws.sts.region}"`,
        `  stsEndpoint: "${aws.sts.endpoint}"`,
        "google:",
        `  audience: "${PROVIDER}"`,
        `  tokenUrl: "${google.sts.tokenUrl}"`,
      ].join("\n"),
    );
    const ciphertext = await google.encrypt("google says hi");
    const script = `
import base64, json, os, stat
import boto3, botocore.config
from google.auth import pluggable
from google.auth.transport.requests import AuthorizedSession
s3 = boto3.client("s3", region_name="${aws.s3.region}", endpoint_url=${JSON.stringify(aws.s3.endpoint)}, config=botocore.config.Config(s3={"addressing_style": "path"}))
s3.put_object(Bucket="${BUCKET}", Key="from-python", Body=b"aws says hi")
aws_body = s3.get_object(Bucket="${BUCKET}", Key="from-python")["Body"].read().decode()
path = os.environ["GOOGLE_APPLICATION_CREDENTIALS"]
creds = pluggable.Credentials.from_file(path, scopes=["https://www.googleapis.com/auth/cloud-platform"])
r = AuthorizedSession(creds).post(${JSON.stringify(`${google.kms.endpoint}/v1/${KEY}:decrypt`)}, json={"ciphertext": ${JSON.stringify(ciphertext)}})
r.raise_for_status()
print(json.dumps({
  "aws": aws_body,
  "google": base64.b64decode(r.json()["plaintext"]).decode(),
  "allow": os.environ.get("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"),
  "modes": [stat.S_IMODE(os.stat(p).st_mode) for p in (os.environ["AWS_CONFIG_FILE"], path)],
  "dir": os.path.dirname(path),
}))
`;
    const run = startCli(["--config", config, "--", PYTHON, "-c", script], {
      CONFSPACE_LAUNCHER_SOCKET: aws.emulator.socketPath,
      CONFSPACE_TOKEN_FILE: google.emulator.tokenFile,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, "none"),
    });
    const { code } = await run.exit;
    expect(run.stderr()).toBe("");
    expect(code).toBe(0);
    const report = JSON.parse(run.stdout());
    expect(report).toMatchObject({ aws: "aws says hi", google: "google says hi", allow: "1", modes: [0o600, 0o600] });
    expect(report.dir.startsWith("/dev/shm/confspace-bootstrap-")).toBe(true);
  });
});
