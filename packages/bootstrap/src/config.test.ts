import { describe, expect, it } from "vitest";
import { parseBootstrapConfig } from "./config.js";
import { BootstrapConfigError } from "./errors.js";

const PROVIDER = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/prov";
const KEY = "projects/p/locations/global/keyRings/r/cryptoKeys/k";
const ROLE = "arn:aws:iam::123456789012:role/app";

// biome-ignore lint/suspicious/noExplicitAny: each row mutates an arbitrary path of a plain document.
type Doc = { [key: string]: any };

function good(): Doc {
  return {
    secretsDir: "/dev/shm",
    collaborators: { alice: { audience: PROVIDER, serviceAccount: "reader@alice.iam.gserviceaccount.com" } },
    vault: { address: "https://vault.example:8200", role: "app", audience: "https://vault.example" },
    secrets: [
      { name: "db", from: "gcp-kms", collaborator: "alice", key: KEY, ciphertext: "AAEC", env: "DB_PASSWORD" },
      { name: "api", from: "vault-kv", path: "app/config", field: "api_key", file: "api-key" },
    ],
    azure: { brokerUrl: "https://broker.example:8443", audience: "https://broker.example" },
  };
}

describe("parseBootstrapConfig", () => {
  it("accepts a complete configuration and keeps each scheme's parsed reference", () => {
    const config = parseBootstrapConfig(good());
    expect(config.secrets).toEqual([
      {
        name: "db",
        scheme: "gcp-kms",
        reference: { collaborator: "alice", key: KEY, ciphertext: { base64: "AAEC" } },
        target: { kind: "env", name: "DB_PASSWORD" },
      },
      {
        name: "api",
        scheme: "vault-kv",
        reference: { mount: "secret", path: "app/config", field: "api_key" },
        target: { kind: "file", name: "api-key" },
      },
    ]);
    expect(config.azure).toEqual({ brokerUrl: "https://broker.example:8443", audience: "https://broker.example" });
    expect(config.secretsDir).toBe("/dev/shm");
  });

  it("accepts aws: and google: sections", () => {
    const config = parseBootstrapConfig({
      aws: { roleArn: ROLE, webIdentityAudience: "https://aws.example/123", region: "eu-west-1", durationSeconds: 900 },
      google: { audience: PROVIDER, tokenAudience: "https://iam.googleapis.com/x" },
    });
    expect(config.aws).toEqual({
      roleArn: ROLE,
      webIdentityAudience: "https://aws.example/123",
      region: "eu-west-1",
      durationSeconds: 900,
    });
    expect(config.google).toEqual({ audience: PROVIDER, tokenAudience: "https://iam.googleapis.com/x" });
  });

  it("defaults secretsDir to /dev/shm and accepts a configuration without secrets", () => {
    expect(parseBootstrapConfig({})).toMatchObject({ secretsDir: "/dev/shm", secrets: [] });
  });

  // One mutation per row from the good configuration: [what, mutate, path in the message].
  const rows: Array<[string, (c: Doc) => void, string]> = [
    ["unknown top-level key", (c) => (c.secret = []), "secret: unknown field"],
    ["unknown key in a secret", (c) => (c.secrets[0].value = "x"), "secrets[0].value: unknown field"],
    ["another scheme's field", (c) => (c.secrets[0].path = "a"), "secrets[0].path: unknown field"],
    ["unknown scheme", (c) => (c.secrets[0].from = "aws-sm"), 'secrets[0].from: unknown scheme "aws-sm"'],
    [
      "relative certificate.outDir",
      (c) => (c.certificate = { outDir: "run" }),
      "certificate.outDir: must be an absolute path",
    ],
    [
      "unknown certificate key type",
      (c) => (c.certificate = { outDir: "/run/c", keyType: "DSA" }),
      "certificate.keyType: must be one of",
    ],
    [
      "unknown certificate field",
      (c) => (c.certificate = { outDir: "/run/c", renew: true }),
      "certificate.renew: unknown field",
    ],
    [
      "broker-datakey without a keyService section",
      (c) => (c.secrets[0] = { name: "db", from: "broker-datakey", key: "k", sealedFile: "/s", env: "DB" }),
      "secrets[0].from: broker-datakey needs a keyService: section",
    ],
    ["no target", (c) => delete c.secrets[0].env, "secrets[0]: needs exactly one of env and file"],
    ["two targets", (c) => (c.secrets[0].file = "db"), "secrets[0]: needs exactly one of env and file"],
    ["bad env name", (c) => (c.secrets[0].env = "DB-PASSWORD"), "secrets[0].env: must be an environment variable name"],
    ["reserved env name", (c) => (c.secrets[0].env = "IDENTITY_HEADER"), "secrets[0].env: IDENTITY_HEADER is set by"],
    ["file with a directory", (c) => (c.secrets[1].file = "../api-key"), "secrets[1].file: must be a plain file name"],
    ["file ..", (c) => (c.secrets[1].file = ".."), "secrets[1].file: must be a plain file name"],
    ["duplicate name", (c) => (c.secrets[1].name = "db"), 'secrets[1].name: "db" is used by another secret'],
    [
      "duplicate env",
      (c) => {
        c.secrets[1].env = "DB_PASSWORD";
        delete c.secrets[1].file;
      },
      "secrets[1].env: DB_PASSWORD is the target",
    ],
    [
      "unknown collaborator",
      (c) => (c.secrets[0].collaborator = "bob"),
      'secrets[0].collaborator: "bob" is not listed',
    ],
    ["key not a CryptoKey", (c) => (c.secrets[0].key = "projects/p/keyRings/r"), "secrets[0].key: must be projects/"],
    [
      "ciphertext not base64",
      (c) => (c.secrets[0].ciphertext = "not base64!"),
      "secrets[0].ciphertext: must be base64",
    ],
    ["both ciphertexts", (c) => (c.secrets[0].ciphertextFile = "/x"), "secrets[0]: needs exactly one of ciphertext"],
    [
      "provider not a resource name",
      (c) => (c.collaborators.alice.audience = "https://sts.googleapis.com"),
      "collaborators.alice.audience: must be //iam",
    ],
    [
      "unknown collaborator field",
      (c) => (c.collaborators.alice.scope = "x"),
      "collaborators.alice.scope: unknown field",
    ],
    [
      "http KMS off loopback",
      (c) => (c.collaborators.alice.kmsEndpoint = "http://kms.example"),
      "collaborators.alice.kmsEndpoint: must be an https URL",
    ],
    ["vault path with ..", (c) => (c.secrets[1].path = "app/../admin"), "secrets[1].path: must not contain .."],
    ["vault path absolute", (c) => (c.secrets[1].path = "/app"), "secrets[1].path: must be a path below the mount"],
    ["vault version 0", (c) => (c.secrets[1].version = 0), "secrets[1].version: must be between 1"],
    ["unknown vault field", (c) => (c.vault.token = "hvs.x"), "vault.token: unknown field"],
    ["vault over http", (c) => (c.vault.address = "http://vault.example"), "vault.address: must be an https URL"],
    ["relative secretsDir", (c) => (c.secretsDir = "shm"), "secretsDir: must be an absolute path"],
    ["secrets not a list", (c) => (c.secrets = {}), "secrets: must be a list"],
    ["unknown azure field", (c) => (c.azure.clientId = "x"), "azure.clientId: unknown field"],
    [
      "azure broker over http",
      (c) => (c.azure.brokerUrl = "http://broker.example"),
      "azure.brokerUrl: must be an https URL",
    ],
    ["azure without audience", (c) => delete c.azure.audience, "azure.audience: must be a non-empty string"],
    ["aws role not an ARN", (c) => (c.aws = { roleArn: "reader" }), "aws.roleArn: must be arn:aws:iam::"],
    [
      "aws with both paths",
      (c) => (c.aws = { roleArn: ROLE, brokerUrl: "https://b.example", webIdentityAudience: "x" }),
      "aws: webIdentityAudience and brokerUrl/audience/caFile are two different paths",
    ],
    [
      "aws region without web identity",
      (c) => (c.aws = { roleArn: ROLE, region: "eu-west-1" }),
      "aws: region and stsEndpoint belong to webIdentityAudience",
    ],
    [
      "aws value with a space",
      (c) => (c.aws = { roleArn: ROLE, audience: "a b" }),
      "aws.audience: must not contain spaces",
    ],
    [
      "unknown aws field",
      (c) => (c.aws = { roleArn: ROLE, secretAccessKey: "x" }),
      "aws.secretAccessKey: unknown field",
    ],
    [
      "google audience not a provider",
      (c) => (c.google = { audience: "https://sts.googleapis.com" }),
      "google.audience: must be //iam",
    ],
    ["unknown google field", (c) => (c.google = { audience: PROVIDER, scopes: [] }), "google.scopes: unknown field"],
    [
      "reserved AWS_CONFIG_FILE",
      (c) => (c.secrets[0].env = "AWS_CONFIG_FILE"),
      "secrets[0].env: AWS_CONFIG_FILE is set by",
    ],
  ];

  it.each(rows)("refuses %s", (_what, mutate, message) => {
    const config = good();
    mutate(config);
    let caught: unknown;
    try {
      parseBootstrapConfig(config);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BootstrapConfigError);
    expect((caught as Error).message).toContain(message);
    expect((caught as BootstrapConfigError).code).toBe("ERR_BOOTSTRAP_CONFIG");
  });

  it("never echoes a ciphertext or other value into the error", () => {
    const config = good();
    config.secrets[0].ciphertext = "sekrit value!";
    expect(() => parseBootstrapConfig(config)).toThrow(/^secrets\[0\]\.ciphertext: must be base64$/);
  });
});
