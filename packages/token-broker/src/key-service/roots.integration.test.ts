import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalKms, startLocalKms } from "@confspace/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerConfigError } from "../errors.js";
import type { KeyServiceRootConfig } from "./config.js";
import { loadRoots } from "./roots.js";

const KEY = "projects/broker-project/locations/global/keyRings/broker/cryptoKeys/key-service-root";
const OTHER_KEY = "projects/broker-project/locations/global/keyRings/broker/cryptoKeys/not-ours";
const BROKER_TOKEN = "broker-access-token-do-not-log";
const ROOT = randomBytes(32);
const ROOT_B64 = ROOT.toString("base64");

let dir: string;
let kms: LocalKms;
let wrapped: string;

async function kmsEncrypt(key: string, plaintext: Buffer): Promise<string> {
  const response = await fetch(`${kms.endpoint}/v1/${key}:encrypt`, {
    method: "POST",
    headers: { authorization: "Bearer operator", "content-type": "application/json" },
    body: JSON.stringify({ plaintext: plaintext.toString("base64") }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { ciphertext: string }).ciphertext;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "confspace-roots-"));
  kms = await startLocalKms({
    tokenIssuers: [],
    staticTokens: [
      { token: "operator", member: "user:operator@example.com" },
      { token: BROKER_TOKEN, member: "user:broker@example.com" },
      { token: "someone-else", member: "user:mallory@example.com" },
    ],
    keys: [
      {
        name: KEY,
        bindings: [
          { role: "roles/cloudkms.cryptoKeyEncrypter", members: ["user:operator@example.com"] },
          {
            role: "roles/cloudkms.cryptoKeyDecrypter",
            members: ["user:broker@example.com"],
          },
        ],
      },
      {
        name: OTHER_KEY,
        bindings: [{ role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", members: ["user:operator@example.com"] }],
      },
    ],
  });
  wrapped = await kmsEncrypt(KEY, ROOT);
  await writeFile(join(dir, "root-1.b64"), `${ROOT_B64}\n`);
  await writeFile(join(dir, "wrapped.b64"), `${wrapped}\n`);
});

afterAll(async () => {
  await kms?.close();
  await rm(dir, { recursive: true, force: true });
});

const load = (roots: KeyServiceRootConfig[], env: Record<string, string> = {}) =>
  loadRoots(roots, { path: "keyService.roots", env, kmsTimeoutMs: 5_000 });

async function refusal(roots: KeyServiceRootConfig[], env: Record<string, string> = {}): Promise<Error> {
  try {
    await load(roots, env);
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected loadRoots to refuse");
}

describe("loadRoots", () => {
  it("names the first bad root in order, not the one that failed first", async () => {
    // A directory fails at read, later than an unset variable, which fails at once.
    for (let i = 0; i < 10; i++) {
      const error = await refusal([
        { version: 1, file: join(dir, "root-1.b64") },
        { version: 2, file: dir },
        { version: 3, env: "UNSET_ROOT" },
      ]);
      expect(error).toMatchObject({ code: "ERR_BROKER_CONFIG", field: "keyService.roots[1].file" });
    }
  });

  it("reads a base64 root from a file and from an environment variable", async () => {
    const other = randomBytes(48);
    const roots = await load(
      [
        { version: 1, file: join(dir, "root-1.b64") },
        { version: 2, env: "ROOT_2" },
      ],
      { ROOT_2: other.toString("base64") },
    );
    expect(roots.get(1)?.equals(ROOT)).toBe(true);
    expect(roots.get(2)?.equals(other)).toBe(true);
  });

  it("decrypts a Cloud KMS-wrapped root with the local KMS (ciphertext inline or from a file)", async () => {
    const env = { KMS_TOKEN: BROKER_TOKEN };
    const before = kms.requests.length;
    const roots = await load(
      [
        {
          version: 3,
          kmsWrapped: { key: KEY, ciphertext: wrapped, endpoint: kms.endpoint, accessTokenEnv: "KMS_TOKEN" },
        },
      ],
      env,
    );
    expect(roots.get(3)?.equals(ROOT)).toBe(true);
    const fromFile = await load(
      [
        {
          version: 3,
          kmsWrapped: {
            key: KEY,
            ciphertextFile: join(dir, "wrapped.b64"),
            endpoint: kms.endpoint,
            accessTokenEnv: "KMS_TOKEN",
          },
        },
      ],
      env,
    );
    expect(fromFile.get(3)?.equals(ROOT)).toBe(true);
    const calls = kms.requests.slice(before);
    expect(calls.map((call) => [call.operation, call.name, call.caller, call.status])).toEqual([
      ["decrypt", KEY, "user:broker@example.com", 200],
      ["decrypt", KEY, "user:broker@example.com", 200],
    ]);
  });

  it("refuses when KMS denies the broker's identity, naming the status but not the token", async () => {
    const error = await refusal(
      [{ version: 1, kmsWrapped: { key: KEY, ciphertext: wrapped, endpoint: kms.endpoint, accessTokenEnv: "T" } }],
      { T: "someone-else" },
    );
    expect(error.message).toContain("keyService.roots[0].kmsWrapped: Cloud KMS refused to decrypt the root");
    expect(error.message).toContain("HTTP 403 PERMISSION_DENIED");
    expect(error.message).not.toContain("someone-else");
    expect((error as { code?: string }).code).toBe("ERR_KEY_SERVICE_KMS");
  });

  it("refuses a ciphertext of another KMS key", async () => {
    const foreign = await kmsEncrypt(OTHER_KEY, ROOT);
    const error = await refusal(
      [{ version: 1, kmsWrapped: { key: KEY, ciphertext: foreign, endpoint: kms.endpoint, accessTokenEnv: "T" } }],
      { T: BROKER_TOKEN },
    );
    expect(error.message).toMatch(/Cloud KMS refused to decrypt the root .*HTTP 400/);
  });

  it("refuses a KMS-wrapped root shorter than 32 bytes", async () => {
    const short = await kmsEncrypt(KEY, randomBytes(16));
    const error = await refusal(
      [{ version: 1, kmsWrapped: { key: KEY, ciphertext: short, endpoint: kms.endpoint, accessTokenEnv: "T" } }],
      { T: BROKER_TOKEN },
    );
    expect(error).toBeInstanceOf(BrokerConfigError);
    expect(error.message).toContain("keyService.roots[0].kmsWrapped: the root is 16 bytes; a root needs at least 32");
  });

  it("refuses when KMS cannot be reached", async () => {
    const error = await refusal(
      [
        {
          version: 1,
          kmsWrapped: { key: KEY, ciphertext: wrapped, endpoint: "http://127.0.0.1:1", accessTokenEnv: "T" },
        },
      ],
      { T: BROKER_TOKEN },
    );
    expect(error.message).toContain("Cloud KMS at http://127.0.0.1:1 could not be reached (ECONNREFUSED)");
  });

  it.each<[string, () => Promise<[KeyServiceRootConfig[], Record<string, string>]>, string]>([
    [
      "an unreadable file",
      async () => [[{ version: 1, file: join(dir, "missing") }], {}],
      "keyService.roots[0].file: the root file cannot be read",
    ],
    [
      "a file that is not base64",
      async () => {
        await writeFile(join(dir, "raw"), randomBytes(40));
        return [[{ version: 1, file: join(dir, "raw") }], {}];
      },
      "keyService.roots[0].file: the root file must hold the root as base64",
    ],
    [
      "an unset variable",
      async () => [[{ version: 1, env: "NOPE" }], {}],
      "keyService.roots[0].env: the environment variable NOPE is not set",
    ],
    [
      "a 31-byte root",
      async () => [[{ version: 1, env: "R" }], { R: randomBytes(31).toString("base64") }],
      "keyService.roots[0].env: the root is 31 bytes; a root needs at least 32 random bytes",
    ],
    [
      "a root of one repeated byte",
      async () => [[{ version: 1, env: "R" }], { R: Buffer.alloc(32, 0).toString("base64") }],
      "keyService.roots[0].env: the root is one byte repeated",
    ],
    [
      "the same root for two versions",
      async () => [
        [
          { version: 1, file: join(dir, "root-1.b64") },
          { version: 2, env: "R" },
        ],
        { R: ROOT_B64 },
      ],
      "keyService.roots[1]: is the same secret as keyService.roots[0]",
    ],
    [
      "an unset access token variable",
      async () => [
        [{ version: 1, kmsWrapped: { key: KEY, ciphertext: wrapped, endpoint: kms.endpoint, accessTokenEnv: "T" } }],
        {},
      ],
      "keyService.roots[0].kmsWrapped.accessTokenEnv: the environment variable T is not set",
    ],
  ])("refuses %s, naming the field and never the secret", async (_, setup, message) => {
    const [roots, env] = await setup();
    const error = await refusal(roots, env);
    expect(error.message).toContain(message);
    for (const value of Object.values(env)) expect(error.message).not.toContain(value);
    expect(error.message).not.toContain(ROOT_B64);
  });
});
