import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeClaims } from "@confspace/attestation";
import { createFederatedAuthClient } from "@confspace/gcp-federation";
import { KeyManagementServiceClient } from "@google-cloud/kms";
import { ExternalAccountClient } from "google-auth-library";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type GoogleStack, KEY, PROVIDER, startGoogleStack } from "../test/google-stack.js";
import { CLI_COMMAND, killAll, PYTHON, recorded, start, startCli } from "../test/processes.js";

// Attestation tokens live 5 s (the emulator rewrites the file at 70–90 % of that) and
// federated tokens 2 s, so the clients below exchange on every call and must get a new
// attestation token from the executable once the cached one has expired.
const ATTESTATION_SECONDS = 5;
const SECRET = "federated-through-an-executable";

interface StsCall {
  status: number;
  subjectTokenId?: string;
}

let google: GoogleStack;
let dir: string;
let ciphertext: string;

beforeAll(async () => {
  google = await startGoogleStack({ attestationLifetimeSeconds: ATTESTATION_SECONDS, stsTokenLifetimeSeconds: 2 });
  dir = await mkdtemp(join(tmpdir(), "confspace-bootstrap-google-"));
  ciphertext = await google.encrypt(SECRET);
});
afterAll(async () => {
  await google?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});
afterEach(killAll);

/** The credential configuration gcp-federation emits, with the executable source. */
async function credentialConfig(name: string): Promise<{ path: string; outputFile: string; config: object }> {
  const outputFile = join(dir, `${name}-output.json`);
  const client = createFederatedAuthClient({
    audience: PROVIDER,
    tokenUrl: google.sts.tokenUrl,
    tokenFile: google.emulator.tokenFile,
  });
  const config = client.toCredentialConfig({
    executable: {
      command: [...CLI_COMMAND, "google-executable-source", "--expiry-skew-seconds", "1"].join(" "),
      outputFile,
    },
  });
  client.dispose();
  const path = join(dir, `${name}.json`);
  await writeFile(path, JSON.stringify(config));
  return { path, outputFile, config };
}

const exchanges = () => recorded<StsCall>(google.sts).filter((c) => c.status === 200);

describe("confspace-bootstrap google-executable-source", () => {
  it("prints Google's executable response: version 1, success, the id_token type, the attestation token and its expiry less the skew", async () => {
    const outputFile = join(dir, "direct-output.json");
    const run = startCli(["google-executable-source", "--expiry-skew-seconds", "1"], {
      ...google.env(),
      GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE: outputFile,
    });
    const { code } = await run.exit;
    expect(run.stderr()).toBe(""); // google-auth merges stderr into the response it parses
    expect(code).toBe(0);
    const response = JSON.parse(run.stdout());
    expect(Object.keys(response).sort()).toEqual(["expiration_time", "id_token", "success", "token_type", "version"]);
    expect(response).toMatchObject({
      version: 1,
      success: true,
      token_type: "urn:ietf:params:oauth:token-type:id_token",
    });
    expect(response.expiration_time).toBe(Number(decodeClaims(response.id_token).exp) - 1);
    // The same response is cached in the output file, private to this user.
    expect(JSON.parse(await readFile(outputFile, "utf8"))).toEqual(response);
    expect((await stat(outputFile)).mode & 0o777).toBe(0o600);
  });

  it("answers success: false with a code and exits 1 when there is no attestation token", async () => {
    const run = startCli(["google-executable-source"], {
      CONFSPACE_TOKEN_FILE: join(dir, "missing-token"),
      CONFSPACE_LAUNCHER_SOCKET: join(dir, "missing.sock"),
    });
    expect((await run.exit).code).toBe(1);
    const response = JSON.parse(run.stdout());
    expect(response).toMatchObject({ version: 1, success: false, code: expect.stringMatching(/^ERR_/) });
    expect(typeof response.message).toBe("string");
  });

  it("Python google-auth (executable source, output file) decrypts with Cloud KMS across an attestation token expiry", {
    timeout: 60_000,
  }, async () => {
    const { path, outputFile } = await credentialConfig("python");
    const before = exchanges().length;
    await google.emulator.refreshTokenFile(); // a token with its whole 5 s ahead when Python starts
    const script = `
import base64, json, sys, time
from google.auth import pluggable
from google.auth.transport.requests import AuthorizedSession
# (google.auth.load_credentials_from_file would also look the project up at cloudresourcemanager.googleapis.com.)
creds = pluggable.Credentials.from_file(sys.argv[1], scopes=["https://www.googleapis.com/auth/cloud-platform"])
session = AuthorizedSession(creds)
def decrypt():
    r = session.post(${JSON.stringify(`${google.kms.endpoint}/v1/${KEY}:decrypt`)}, json={"ciphertext": ${JSON.stringify(ciphertext)}})
    r.raise_for_status()
    return base64.b64decode(r.json()["plaintext"]).decode()
out = [decrypt(), decrypt()]
time.sleep(${ATTESTATION_SECONDS})
out.append(decrypt())
print(json.dumps(out))
`;
    const run = start(PYTHON, ["-c", script, path], {
      ...google.env(),
      GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES: "1",
    });
    const { code } = await run.exit;
    expect(run.stderr()).toBe("");
    expect(code).toBe(0);
    expect(JSON.parse(run.stdout())).toEqual([SECRET, SECRET, SECRET]);
    const ids = exchanges()
      .slice(before)
      .map((c) => c.subjectTokenId);
    expect(ids.length).toBeGreaterThanOrEqual(3);
    // The second exchange (the 2-second federated token is within google-auth's refresh
    // threshold) reused the cached response; the last one, after the attestation token
    // expired, carried a new token from a new run.
    expect(ids[1]).toBe(ids[0]);
    expect(ids.at(-1)).not.toBe(ids[0]);
    expect((await stat(outputFile)).mode & 0o777).toBe(0o600);
  });

  it("Node google-auth-library (ExternalAccountClient.fromJSON, executable source) decrypts with @google-cloud/kms across an expiry", {
    timeout: 60_000,
  }, async () => {
    const { config } = await credentialConfig("node");
    const saved = { ...process.env };
    // google-auth-library runs the executable with this process's environment.
    Object.assign(process.env, google.env(), { GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES: "1" });
    try {
      const auth = ExternalAccountClient.fromJSON({
        ...config,
        scopes: ["https://www.googleapis.com/auth/cloud-platform"],
      } as never);
      if (auth === null) throw new Error("no client");
      const kms = new KeyManagementServiceClient({ ...google.kms.clientOptions, authClient: auth });
      const before = exchanges().length;
      const decrypt = async () => {
        const [r] = await kms.decrypt({ name: KEY, ciphertext: Buffer.from(ciphertext, "base64") });
        return Buffer.from(r.plaintext as Uint8Array).toString();
      };
      expect(await decrypt()).toBe(SECRET);
      await new Promise((resolve) => setTimeout(resolve, (ATTESTATION_SECONDS + 1) * 1000));
      expect(await decrypt()).toBe(SECRET);
      const ids = exchanges()
        .slice(before)
        .map((c) => c.subjectTokenId);
      expect(ids.length).toBeGreaterThanOrEqual(2);
      expect(ids.at(-1)).not.toBe(ids[0]);
      await kms.close();
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});
