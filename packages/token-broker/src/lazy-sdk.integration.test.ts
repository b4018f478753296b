import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const INDEX = fileURLToPath(new URL("./index.ts", import.meta.url));
const DIGEST = `sha256:${"1a".repeat(32)}`;
const SDKS = ["@azure/identity", "@aws-sdk/client-sts"];

/** Which SDKs a fresh process resolves while importing the broker and creating one with `upstreams`. */
function sdksLoaded(upstreams: Record<string, unknown>, grant: Record<string, unknown>): string[] {
  const config = {
    tls: { certFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem" },
    attestation: { audience: "https://broker.test", policy: { imageDigests: [DIGEST] } },
    upstreams,
    grants: [{ name: "g", match: { imageDigests: [DIGEST] }, ...grant }],
    metrics: false,
  };
  const script = `
    import { registerHooks } from "node:module";
    const seen = new Set();
    registerHooks({ resolve(specifier, context, next) { seen.add(specifier); return next(specifier, context); } });
    const { createBroker } = await import(${JSON.stringify(INDEX)});
    const broker = createBroker(${JSON.stringify(config)}, { env: { SECRET: "s", KEY: "k", SKEY: "sk" } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await broker.close();
    console.log(JSON.stringify(${JSON.stringify(SDKS)}.filter((sdk) => seen.has(sdk))));
  `;
  const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "null") as string[];
}

const AZURE = { azure: { main: { tenantId: "t", clientId: "c", clientSecretEnv: "SECRET" } } };
const AWS = { aws: { region: "us-east-1", credentials: { accessKeyIdEnv: "KEY", secretAccessKeyEnv: "SKEY" } } };
const AZURE_GRANT = { azure: [{ tenant: "main", scopes: ["https://storage.azure.com/.default"] }] };
const AWS_GRANT = { aws: [{ roleArn: "arn:aws:iam::123456789012:role/reader" }] };

describe("upstream SDKs are imported only when their upstream is configured", () => {
  it("an Azure-only broker loads @azure/identity, not the AWS SDK", () => {
    expect(sdksLoaded(AZURE, AZURE_GRANT)).toEqual(["@azure/identity"]);
  });

  it("an AWS-only broker loads the AWS SDK, not @azure/identity", () => {
    expect(sdksLoaded(AWS, AWS_GRANT)).toEqual(["@aws-sdk/client-sts"]);
  });
});
