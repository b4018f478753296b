import { type Emulator, startEmulator } from "@confspace/emulator";
import { type OpenBao, startOpenBao } from "@confspace/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBootstrapConfig } from "../config.js";
import { SecretResolutionError } from "../errors.js";
import { resolveSecrets } from "../resolve-secrets.js";

// Real OpenBao (scripts/tools.sh), JWT auth for the emulator's issuer, the way an operator
// sets it up: role `app` bound to the audience and the approved image digest, reading secret/app/*.
const AUDIENCE = "https://vault.confspace.test";
const VALUE = "kv-secret-value-do-not-print";
let emulator: Emulator;
let bao: OpenBao;
let savedSocket: string | undefined;

beforeAll(async () => {
  emulator = await startEmulator({ writeTokenFile: false });
  bao = await startOpenBao();
  const digest = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
  await bao.request({
    method: "POST",
    path: "auth/jwt/config",
    body: { oidc_discovery_url: emulator.issuer, bound_issuer: emulator.issuer },
  });
  const role = (image: string) => ({
    role_type: "jwt",
    user_claim: "sub",
    bound_audiences: [AUDIENCE],
    bound_claims: { "/submods/container/image_digest": [image] },
    token_policies: ["app"],
    token_ttl: 60,
  });
  await bao.request({ method: "POST", path: "auth/jwt/role/app", body: role(digest) });
  await bao.request({ method: "POST", path: "auth/jwt/role/other-image", body: role(`sha256:${"0".repeat(64)}`) });
  await bao.request({
    method: "PUT",
    path: "sys/policies/acl/app",
    body: { policy: 'path "secret/data/app/*" { capabilities = ["read"] }' },
  });
  await bao.request({ method: "POST", path: "secret/data/app/config", body: { data: { api_key: VALUE, port: 5432 } } });
  await bao.request({ method: "POST", path: "secret/data/app/gone", body: { data: { x: "y" } } });
  await bao.request({ method: "DELETE", path: "secret/data/app/gone" });
  await bao.request({ method: "POST", path: "secret/data/admin/root", body: { data: { x: "y" } } });
  savedSocket = process.env.CONFSPACE_LAUNCHER_SOCKET;
  process.env.CONFSPACE_LAUNCHER_SOCKET = emulator.socketPath; // where vault-jwt gets custom tokens
});
afterAll(async () => {
  if (savedSocket === undefined) delete process.env.CONFSPACE_LAUNCHER_SOCKET;
  else process.env.CONFSPACE_LAUNCHER_SOCKET = savedSocket;
  await bao?.close();
  await emulator?.stop();
});

const config = (secrets: unknown[], role = "app") =>
  parseBootstrapConfig({ vault: { address: bao.address, role, audience: AUDIENCE }, secrets });

async function failure(secrets: unknown[], role?: string): Promise<SecretResolutionError> {
  const error = await resolveSecrets(config(secrets, role)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SecretResolutionError);
  expect((error as Error).message).not.toContain(VALUE);
  return error as SecretResolutionError;
}

const apiKey = { name: "api", from: "vault-kv", path: "app/config", field: "api_key", env: "API_KEY" };

describe("vault-kv references, against OpenBao through vault-jwt", () => {
  it("logs in with an attestation token for the role's audience and reads each field", async () => {
    const resolved = await resolveSecrets(
      config([
        apiKey,
        {
          name: "api-again",
          from: "vault-kv",
          mount: "secret",
          path: "app/config",
          field: "api_key",
          version: 1,
          file: "api",
        },
      ]),
    );
    expect(resolved.map((r) => [r.name, Buffer.from(r.value).toString()])).toEqual([
      ["api", VALUE],
      ["api-again", VALUE],
    ]);
  });

  it("names the secret when the field is not a string", async () => {
    const error = await failure([{ name: "port", from: "vault-kv", path: "app/config", field: "port", env: "PORT" }]);
    expect(error).toMatchObject({ secret: "port", scheme: "vault-kv" });
    expect(error.message).toMatch(/^secret "port" \(vault-kv\) could not be resolved/);
  });

  it("names the secret when the KV secret is deleted or missing", async () => {
    expect((await failure([{ name: "gone", from: "vault-kv", path: "app/gone", field: "x", env: "X" }])).secret).toBe(
      "gone",
    );
    expect(
      (await failure([{ name: "none", from: "vault-kv", path: "app/nowhere", field: "x", env: "X" }])).secret,
    ).toBe("none");
  });

  it("keeps OpenBao's refusal as the cause: a path the policy does not grant", async () => {
    const error = await failure([{ name: "root", from: "vault-kv", path: "admin/root", field: "x", env: "X" }]);
    expect((error.cause as { status?: number }).status).toBe(403);
  });

  it("fails with ERR_VAULT_LOGIN when the role is bound to another image", async () => {
    const error = await failure([apiKey], "other-image");
    expect(error.message).toContain("ERR_VAULT_LOGIN");
    expect((error.cause as { code?: string }).code).toBe("ERR_VAULT_LOGIN");
  });
});
