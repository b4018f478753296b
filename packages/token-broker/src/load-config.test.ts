import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBroker } from "./broker.js";
import type { BrokerConfig } from "./config-types.js";
import { BrokerConfigError } from "./errors.js";
import { loadBrokerConfig, parseBrokerConfig } from "./load-config.js";

const EXAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), "../../../examples/broker/broker.yaml");
const DIGEST = `sha256:${"0f".repeat(32)}`;

const YAML = `
tls: { certFile: /tls/cert.pem, keyFile: /tls/key.pem }
attestation:
  audience: https://broker.example
  policy: { imageDigests: ["${DIGEST}"] }
upstreams:
  azure:
    contoso: { tenantId: contoso.example, clientId: app, clientSecretEnv: CONTOSO_SECRET }
grants:
  - name: blob
    match: { imageDigests: ["${DIGEST}"] }
    azure: [{ tenant: contoso, scopes: [https://storage.azure.com/.default] }]
`;

describe("loadBrokerConfig", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "broker-config-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("loads the example policy examples/broker/broker.yaml", async () => {
    const config = await loadBrokerConfig(EXAMPLE);
    expect(config.attestation.audience).toBe("https://broker.example.com");
    expect(config.grants.map((g) => g.name)).toEqual(["reports-blob-reader", "reports-s3-writer"]);
    expect(config.grants[0]!.azure![0]!.scopes).toEqual(["https://storage.azure.com/.default"]);
    expect(config.grants[1]!.aws![0]!.sessionTags).toHaveProperty(
      "container.image_digest",
      "submods.container.image_digest",
    );
    // And a broker can be built from it (the secret variable is read at creation).
    const broker = createBroker(config, { env: { CONTOSO_CLIENT_SECRET: "x" } });
    await broker.close();
  });

  it("reads YAML and JSON files to the same configuration", async () => {
    const yamlPath = join(dir, "broker.yaml");
    const jsonPath = join(dir, "broker.json");
    await writeFile(yamlPath, YAML);
    const fromYaml = await loadBrokerConfig(yamlPath);
    await writeFile(jsonPath, JSON.stringify(fromYaml));
    expect(await loadBrokerConfig(jsonPath)).toEqual(fromYaml);
    expect(fromYaml.grants[0]!.match.imageDigests).toEqual([DIGEST]);
  });

  it("names the field of an invalid value in a file", async () => {
    const path = join(dir, "bad.yaml");
    await writeFile(path, YAML.replace("https://storage.azure.com/.default", "https://storage.azure.com"));
    await expect(loadBrokerConfig(path)).rejects.toMatchObject({ field: "grants[0].azure[0].scopes[0]" });
  });

  it("says where a syntax error is, without quoting the line", async () => {
    const text = `${YAML}\nupstreams: { oops: "leaked-secret-value"\n`;
    let error: unknown;
    try {
      parseBrokerConfig(text, { source: "broker.yaml" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(BrokerConfigError);
    expect((error as Error).message).toMatch(/^broker\.yaml is not valid YAML at line \d+/);
    expect((error as Error).message).not.toContain("leaked-secret-value");
    expect((error as Error).cause).toBeUndefined();
  });

  it("refuses duplicate keys in YAML", () => {
    expect(() => parseBrokerConfig(`${YAML}\ngrants: []\n`)).toThrow(BrokerConfigError);
  });

  it("refuses a file that cannot be read", async () => {
    await expect(loadBrokerConfig(join(dir, "missing.yaml"))).rejects.toMatchObject({
      code: "ERR_BROKER_CONFIG",
      field: "",
    });
  });
});

describe("createBroker / listen: what only startup can check", () => {
  const config = (): BrokerConfig => parseBrokerConfig(YAML);

  it("refuses an unset client secret variable, naming the field and the variable", () => {
    let error: unknown;
    try {
      createBroker(config(), { env: {} });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ field: "upstreams.azure.contoso.clientSecretEnv" });
    expect((error as Error).message).toContain("CONTOSO_SECRET");
  });

  it("refuses unset AWS credential variables", () => {
    const c = config();
    c.upstreams!.aws = { region: "us-east-1", credentials: { accessKeyIdEnv: "AK", secretAccessKeyEnv: "SK" } };
    expect(() => createBroker(c, { env: { CONTOSO_SECRET: "x", AK: "a" } })).toThrow(
      expect.objectContaining({ field: "upstreams.aws.credentials.secretAccessKeyEnv" }),
    );
  });

  it("refuses a verifier option the verifier rejects, as a config error", () => {
    const c = config();
    c.attestation.issuer = "http://issuer.example.com";
    expect(() => createBroker(c, { env: { CONTOSO_SECRET: "x" } })).toThrow(
      expect.objectContaining({ field: "attestation" }),
    );
  });

  it("names an unreadable certificate file when listening", async () => {
    const broker = createBroker(config(), { env: { CONTOSO_SECRET: "x" } });
    await expect(broker.listen()).rejects.toMatchObject({ code: "ERR_BROKER_CONFIG", field: "tls.certFile" });
    await broker.close();
  });
});
