import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { ManagedIdentityCredential } from "@azure/identity";
import { BrokerError, ConfidentialSpaceBrokerCredential } from "@confspace/azure-credential";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AUDIENCE, type AzureStack, STORAGE, startAzureStack } from "../test/azure-stack.js";
import { killAll, PYTHON, startCli } from "../test/processes.js";
import { type AzureIdentityEndpoint, startAzureIdentityEndpoint } from "./azure-identity-endpoint.js";

// Entra tokens live 4 s: each client gets a token, waits past its expiry, and gets another.
const ENTRA_SECONDS = 4;
let azure: AzureStack;
let dir: string;

beforeAll(async () => {
  azure = await startAzureStack({ entraTokenLifetimeSeconds: ENTRA_SECONDS });
  dir = await mkdtemp(join(tmpdir(), "confspace-bootstrap-azure-"));
});
afterAll(async () => {
  await azure?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});
afterEach(killAll);

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function get(
  endpoint: AzureIdentityEndpoint,
  query: string,
  headers: Record<string, string> = {},
  path = "/msi/token",
): Promise<Reply> {
  const url = new URL(endpoint.endpoint);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: url.port,
        path: `${path}?${query}`,
        headers: { "x-identity-header": endpoint.header, ...headers },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const fixed: AccessToken = { token: "fixed-access-token", expiresOnTimestamp: 1_900_000_000_123 };

describe("the App Service managed-identity endpoint", () => {
  let endpoint: AzureIdentityEndpoint;
  const scopes: string[] = [];
  const credential: TokenCredential = {
    getToken: async (scope) => {
      scopes.push(String(scope));
      if (String(scope).startsWith("https://denied"))
        throw new BrokerError("ERR_BROKER_DENIED", "https://broker.example", "denied by policy");
      return fixed;
    },
  };
  beforeAll(async () => {
    endpoint = await startAzureIdentityEndpoint({ credential });
  });
  afterAll(() => endpoint?.close());

  it("listens on loopback and answers the 2019-08-01 protocol: access_token, expires_on in seconds, resource, token_type", async () => {
    expect(endpoint.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/msi\/token$/);
    expect(endpoint.header).toMatch(/^[0-9a-f]{64}$/);
    const reply = await get(endpoint, `api-version=2019-08-01&resource=${encodeURIComponent(STORAGE)}`);
    expect(reply).toEqual({
      status: 200,
      body: { access_token: "fixed-access-token", expires_on: "1900000000", resource: STORAGE, token_type: "Bearer" },
    });
    expect(scopes.at(-1)).toBe(`${STORAGE}/.default`);
  });

  const refusals: Array<[string, string, Record<string, string>, number, string?]> = [
    ["a wrong X-IDENTITY-HEADER", "api-version=2019-08-01&resource=r", { "x-identity-header": "0".repeat(64) }, 401],
    ["no X-IDENTITY-HEADER", "api-version=2019-08-01&resource=r", { "x-identity-header": "" }, 401],
    ["another Host (DNS rebinding)", "api-version=2019-08-01&resource=r", { host: "attacker.example" }, 403],
    ["another api-version", "api-version=2017-09-01&resource=r", {}, 400],
    ["no resource", "api-version=2019-08-01", {}, 400],
    ["a client_id (the broker picks the identity)", "api-version=2019-08-01&resource=r&client_id=x", {}, 400],
    ["another path", "api-version=2019-08-01&resource=r", {}, 404, "/metadata/identity/oauth2/token"],
  ];
  it.each(refusals)("refuses %s", async (_what, query, headers, status, path) => {
    const before = scopes.length;
    const reply = await get(endpoint, query, headers, path);
    expect(reply.status).toBe(status);
    expect(typeof reply.body.error).toBe("string");
    expect(JSON.stringify(reply.body)).not.toContain(endpoint.header);
    expect(scopes.length).toBe(before);
  });

  it("answers 403 with the error code, never a token, when the broker refuses", async () => {
    const reply = await get(endpoint, "api-version=2019-08-01&resource=https%3A%2F%2Fdenied.example");
    expect(reply).toEqual({
      status: 403,
      body: { error: "token_unavailable", error_description: "the broker gave no token (ERR_BROKER_DENIED)" },
    });
  });
});

describe("Azure SDKs against the endpoint, backed by the token broker", () => {
  it("Python azure-identity ManagedIdentityCredential, in an app started by confspace-bootstrap, gets a new token after the first expired", {
    timeout: 60_000,
  }, async () => {
    const config = join(dir, "bootstrap.yaml");
    await writeFile(
      config,
      `azure:\n  brokerUrl: "${azure.brokerUrl}"\n  audience: "${AUDIENCE}"\n  caFile: "${azure.pki.caPath}"\n`,
    );
    const script = `
import json, time
from azure.identity import ManagedIdentityCredential
credential = ManagedIdentityCredential()
first = credential.get_token("${STORAGE}/.default")
time.sleep(first.expires_on - time.time() + 1)
second = credential.get_token("${STORAGE}/.default")
print(json.dumps({"same": first.token == second.token, "first": first.expires_on, "second": second.expires_on, "now": time.time()}))
`;
    const run = startCli(["--config", config, "--", PYTHON, "-c", script], {
      CONFSPACE_LAUNCHER_SOCKET: azure.emulator.socketPath,
    });
    const { code } = await run.exit;
    expect(run.stderr()).toBe("");
    expect(code).toBe(0);
    const report = JSON.parse(run.stdout());
    expect(report.same).toBe(false);
    expect(report.second).toBeGreaterThan(report.first);
    expect(report.second).toBeGreaterThan(report.now);
    expect(report.first - report.now).toBeLessThanOrEqual(ENTRA_SECONDS);
  });

  it("Node @azure/identity ManagedIdentityCredential gets a new token after the first expired", {
    timeout: 30_000,
  }, async () => {
    const broker = new ConfidentialSpaceBrokerCredential({
      brokerUrl: azure.brokerUrl,
      audience: AUDIENCE,
      ca: azure.pki.caPem,
      launcherSocket: azure.emulator.socketPath,
    });
    const endpoint = await startAzureIdentityEndpoint({ credential: broker });
    const saved = { IDENTITY_ENDPOINT: process.env.IDENTITY_ENDPOINT, IDENTITY_HEADER: process.env.IDENTITY_HEADER };
    Object.assign(process.env, endpoint.env());
    try {
      const credential = new ManagedIdentityCredential();
      const first = await credential.getToken(`${STORAGE}/.default`);
      await new Promise((resolve) => setTimeout(resolve, first.expiresOnTimestamp - Date.now() + 1000));
      const second = await credential.getToken(`${STORAGE}/.default`);
      expect(second.token).not.toBe(first.token);
      expect(second.expiresOnTimestamp).toBeGreaterThan(Date.now());
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await endpoint.close();
      broker.dispose();
    }
  });
});
