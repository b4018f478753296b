import { type Emulator, startEmulator } from "@confspace/emulator";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type KvServer, startKvServer } from "../../test/kv-server.js";
import { parseBootstrapConfig } from "../config.js";
import { SecretResolutionError } from "../errors.js";
import { resolveSecrets } from "../resolve-secrets.js";

const AUDIENCE = "https://vault.confspace.test";
const VALUE = "kv-secret-value-do-not-print";
let emulator: Emulator;
let kv: KvServer;
let savedSocket: string | undefined;

beforeAll(async () => {
  emulator = await startEmulator({ writeTokenFile: false });
  kv = await startKvServer(AUDIENCE);
  savedSocket = process.env.CONFSPACE_LAUNCHER_SOCKET;
  process.env.CONFSPACE_LAUNCHER_SOCKET = emulator.socketPath; // where vault-jwt gets custom tokens
});
afterAll(async () => {
  if (savedSocket === undefined) delete process.env.CONFSPACE_LAUNCHER_SOCKET;
  else process.env.CONFSPACE_LAUNCHER_SOCKET = savedSocket;
  await kv?.close();
  await emulator?.stop();
});
beforeEach(() => {
  kv.refuseLogin = undefined;
  kv.secrets.clear();
  kv.secrets.set("secret/app/config", { api_key: VALUE, port: 5432 });
  kv.secrets.set("kv/deleted", null);
});

const config = (secrets: unknown[]) =>
  parseBootstrapConfig({ vault: { address: kv.address, role: "app", audience: AUDIENCE }, secrets });

async function failure(secrets: unknown[]): Promise<SecretResolutionError> {
  const error = await resolveSecrets(config(secrets)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SecretResolutionError);
  expect((error as Error).message).not.toContain(VALUE);
  return error as SecretResolutionError;
}

describe("vault-kv references (through vault-jwt's client)", () => {
  it("logs in once with an attestation token for the role's audience and reads each field", async () => {
    const before = kv.logins;
    const resolved = await resolveSecrets(
      config([
        { name: "api", from: "vault-kv", path: "app/config", field: "api_key", env: "API_KEY" },
        { name: "api-again", from: "vault-kv", mount: "secret", path: "app/config", field: "api_key", file: "api" },
      ]),
    );
    expect(resolved.map((r) => [r.name, Buffer.from(r.value).toString()])).toEqual([
      ["api", VALUE],
      ["api-again", VALUE],
    ]);
    expect(kv.logins - before).toBe(1);
  });

  it("names the secret when the field is not a string", async () => {
    const error = await failure([{ name: "port", from: "vault-kv", path: "app/config", field: "port", env: "PORT" }]);
    expect(error).toMatchObject({ secret: "port", scheme: "vault-kv" });
    expect(error.message).toMatch(/^secret "port" \(vault-kv\) could not be resolved/);
  });

  it("names the secret when the KV secret is missing or deleted", async () => {
    expect(
      (await failure([{ name: "gone", from: "vault-kv", mount: "kv", path: "deleted", field: "x", env: "X" }])).secret,
    ).toBe("gone");
    expect((await failure([{ name: "none", from: "vault-kv", path: "nowhere", field: "x", env: "X" }])).secret).toBe(
      "none",
    );
  });

  it("keeps Vault's login refusal as the cause, with its code in the message", async () => {
    kv.refuseLogin = 'error validating claims: claim "/submods/container/image_digest" does not match';
    const error = await failure([
      { name: "api", from: "vault-kv", path: "app/config", field: "api_key", env: "API_KEY" },
    ]);
    expect(error.message).toContain("ERR_VAULT_LOGIN");
    expect((error.cause as { code?: string }).code).toBe("ERR_VAULT_LOGIN");
  });
});
