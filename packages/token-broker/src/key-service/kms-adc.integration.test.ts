// A Cloud KMS-wrapped root with no accessTokenEnv: the access token comes from Application
// Default Credentials (google-auth-library, imported only then). ADC here is an external
// account (GOOGLE_APPLICATION_CREDENTIALS) exchanging the emulator's attestation token at the
// local STS, as a broker running in Confidential Space would; KMS admits the pool's principals.
// Everything on loopback.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Emulator, startEmulator } from "@confspace/emulator";
import { type LocalGoogleSts, type LocalKms, startLocalGoogleSts, startLocalKms } from "@confspace/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyServicePki, type KeyServicePki } from "../../test/key-service-pki.js";
import { loadRoots } from "./roots.js";

const POOL = "projects/123456789012/locations/global/workloadIdentityPools/brokers";
const AUDIENCE = `//iam.googleapis.com/${POOL}/providers/confidential-space`;
const KEY = "projects/broker-project/locations/global/keyRings/broker/cryptoKeys/key-service-root";
const ROOT = randomBytes(32);

let dir: string;
let emulator: Emulator;
let sts: LocalGoogleSts;
let kms: LocalKms;
let wrapped: string;
let credentials: string;
let pki: KeyServicePki;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "confspace-kms-adc-"));
  pki = await createKeyServicePki();
  emulator = await startEmulator();
  sts = await startLocalGoogleSts({
    providers: [
      { audience: AUDIENCE, issuer: `${emulator.issuer}/`, allowedAudiences: ["https://sts.googleapis.com"] },
    ],
  });
  kms = await startLocalKms({
    tokenIssuers: [sts],
    staticTokens: [{ token: "operator", member: "user:operator@example.com" }],
    keys: [
      {
        name: KEY,
        bindings: [
          { role: "roles/cloudkms.cryptoKeyEncrypter", members: ["user:operator@example.com"] },
          { role: "roles/cloudkms.cryptoKeyDecrypter", members: [`principalSet://iam.googleapis.com/${POOL}/*`] },
        ],
      },
    ],
  });
  const response = await fetch(`${kms.endpoint}/v1/${KEY}:encrypt`, {
    method: "POST",
    headers: { authorization: "Bearer operator", "content-type": "application/json" },
    body: JSON.stringify({ plaintext: ROOT.toString("base64") }),
  });
  wrapped = ((await response.json()) as { ciphertext: string }).ciphertext;
  credentials = join(dir, "adc.json");
  await writeFile(
    credentials,
    JSON.stringify({
      type: "external_account",
      audience: AUDIENCE,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: sts.tokenUrl,
      credential_source: { file: emulator.tokenFile },
    }),
  );
}, 30_000);

afterAll(async () => {
  await kms?.close();
  await sts?.close();
  await emulator?.stop();
  await rm(dir, { recursive: true, force: true });
  await pki?.cleanup();
});

describe("a KMS-wrapped root through Application Default Credentials", () => {
  it("decrypts the root with an access token google-auth-library's ADC obtained", async () => {
    const previous = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = credentials;
    try {
      const roots = await loadRoots(
        [{ version: 1, kmsWrapped: { key: KEY, ciphertext: wrapped, endpoint: kms.endpoint } }],
        {
          path: "keyService.roots",
          env: {},
          kmsTimeoutMs: 10_000,
        },
      );
      expect(roots.get(1)?.equals(ROOT)).toBe(true);
    } finally {
      if (previous === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = previous;
    }
    expect(sts.requests.filter((r) => r.status === 200)).toHaveLength(1);
    const decrypt = kms.requests.find((r) => r.operation === "decrypt");
    expect(decrypt?.status).toBe(200);
    expect(decrypt?.caller).toMatch(/^principal:\/\/iam\.googleapis\.com\/projects\/123456789012\//);
  });
});

const INDEX = fileURLToPath(new URL("../index.ts", import.meta.url));

/** Whether a fresh process resolves google-auth-library while a broker with `roots` starts listening, and how listen() ended. */
function loadsGoogleAuth(roots: unknown[], env: Record<string, string>): { loaded: boolean; failure: string } {
  const config = {
    listen: { host: "127.0.0.1", port: 0 },
    tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile },
    // The issuer is a closed loopback port: nothing leaves the machine.
    attestation: {
      audience: "https://broker.test",
      issuer: "http://127.0.0.1:1",
      policy: { imageDigests: [`sha256:${"1a".repeat(32)}`] },
    },
    certificates: { caCertFile: pki.caFile, caKeyFile: join(pki.dir, "workload-ca.key") },
    grants: [{ name: "g", match: { imageDigests: [`sha256:${"1a".repeat(32)}`] }, certificate: { keys: ["k"] } }],
    keyService: { listen: { host: "127.0.0.1", port: 0 }, roots },
    metrics: false,
  };
  const script = `
    import { registerHooks } from "node:module";
    const seen = new Set();
    registerHooks({ resolve(specifier, context, next) { seen.add(specifier); return next(specifier, context); } });
    const { createBroker } = await import(${JSON.stringify(INDEX)});
    const broker = createBroker(${JSON.stringify(config)}, { env: ${JSON.stringify(env)} });
    const failure = await broker.listen().then(() => "listening", (error) => error.message);
    await broker.close();
    console.log(JSON.stringify({ loaded: seen.has("google-auth-library"), failure }));
  `;
  const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, GOOGLE_APPLICATION_CREDENTIALS: join(dir, "missing-adc.json") },
  });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "null") as { loaded: boolean; failure: string };
}

describe("google-auth-library is imported only for a KMS-wrapped root without accessTokenEnv", () => {
  it("is not imported for file and env roots, nor with accessTokenEnv", () => {
    const kmsRoot = { key: KEY, ciphertext: "YWJj", endpoint: "http://127.0.0.1:1", accessTokenEnv: "T" };
    const roots = [
      { version: 1, env: "R" },
      { version: 2, kmsWrapped: kmsRoot },
    ];
    const result = loadsGoogleAuth(roots, { R: randomBytes(32).toString("base64"), T: "t" });
    // It got as far as the KMS call (a closed port), with no google-auth-library.
    expect(result).toEqual({ loaded: false, failure: expect.stringContaining("could not be reached (ECONNREFUSED)") });
  });

  it("is imported for ADC", () => {
    const result = loadsGoogleAuth(
      [{ version: 1, kmsWrapped: { key: KEY, ciphertext: "YWJj", endpoint: "http://127.0.0.1:1" } }],
      {},
    );
    expect(result).toEqual({ loaded: true, failure: expect.stringContaining("from Application Default Credentials") });
  });
});
