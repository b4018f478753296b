// `pnpm --filter @confspace-examples/vault-kv local`: the whole scenario on loopback — the
// Confidential Space emulator and a real OpenBao server (started by @confspace/local,
// development only, from BAO_BIN / VAULT_BIN, `.tools/bin/bao` or `bao` on PATH) — provisioned with
// the same API calls the README's `vault` commands make, then the same app as main.ts with
// short token TTLs, so it lives through several token expiries. A fault-free proxy in
// front of OpenBao counts the requests. Nothing here is needed in production.
import { startLocalStack, startVaultFaultProxy } from "@confspace/local";
import { VaultJwtClient } from "@confspace/vault-jwt";
import { type Round, runApp } from "./app.js";
import { seal } from "./sealed.js";

export const ROLE = "tee-app";
export const AUDIENCE = "https://vault.confspace.example";

export interface LocalRunOptions {
  /** token_ttl and token_explicit_max_ttl of the role, seconds (real Vault: minutes to hours). */
  tokenTtlSeconds: number;
  tokenMaxTtlSeconds: number;
  rounds: number;
  intervalMs: number;
  log?: (line: string) => void;
}

export interface LocalRunResult {
  rounds: Round[];
  logins: number;
  renewals: number;
  /** Renewals Vault refused (max TTL reached); each is followed by an immediate login. */
  renewalsRefused: number;
  /** Any other request answered 4xx/5xx. */
  refused: number;
}

export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  // The example creates its own role below (short TTLs), so the stack's default role is not needed.
  const stack = await startLocalStack({
    services: ["vault"],
    vault: { role: false },
    emulator: { writeTokenFile: false },
    log,
  });
  const { emulator } = stack;
  const bao = stack.vault!.bao;
  const vault = await startVaultFaultProxy({ target: bao.address });
  // The operator's calls, with OpenBao's root token (which the helper never hands out).
  const api = async (method: "GET" | "POST" | "PUT", path: string, body?: unknown) =>
    (await bao.request({ method, path, body })).body as { data: Record<string, string> } | undefined;
  const digest = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;

  // The operator's setup (README: "Set up Vault"); the stack already pointed auth/jwt/config at the
  // emulator's issuer (oidc_discovery_url and bound_issuer) instead of Google's.
  await api("PUT", `sys/policies/acl/${ROLE}`, {
    policy: `path "secret/data/tee-app/*" { capabilities = ["create", "read", "update"] }
path "transit/decrypt/tee-app" { capabilities = ["update"] }`,
  });
  await api("POST", `auth/jwt/role/${ROLE}`, {
    role_type: "jwt",
    user_claim: "sub",
    bound_audiences: [AUDIENCE],
    bound_claims: {
      swname: "CONFIDENTIAL_SPACE",
      dbgstat: "disabled-since-boot",
      "/submods/confidential_space/support_attributes": ["STABLE"],
      "/submods/container/image_digest": [digest],
    },
    token_policies: [ROLE],
    token_ttl: options.tokenTtlSeconds,
    token_explicit_max_ttl: options.tokenMaxTtlSeconds,
  });
  await api("POST", "transit/keys/tee-app");
  const dataKey = await api("POST", "transit/datakey/plaintext/tee-app", { bits: 256 });
  const key = Buffer.from(dataKey!.data.plaintext!, "base64");
  await api("POST", "secret/data/tee-app/config", {
    data: {
      greeting: "hello from the operator",
      wrapped_data_key: dataKey!.data.ciphertext,
      sealed_message: seal(key, "only the attested workload can read this"),
    },
  });
  key.fill(0);
  log(`role ${ROLE}: token_ttl ${options.tokenTtlSeconds}s, token_explicit_max_ttl ${options.tokenMaxTtlSeconds}s`);

  const client = new VaultJwtClient({
    address: vault.address,
    role: ROLE,
    audience: AUDIENCE,
    launcher: { socketPath: emulator.socketPath },
    revokeOnDispose: true,
  });
  try {
    const rounds = await runApp({
      vault: client,
      kvMount: "secret",
      configPath: "tee-app/config",
      heartbeatPath: "tee-app/heartbeat",
      transitMount: "transit",
      transitKey: "tee-app",
      rounds: options.rounds,
      intervalMs: options.intervalMs,
      log,
    });
    const renew = "/v1/auth/token/renew-self";
    const result = {
      rounds,
      logins: vault.count("auth/jwt/login", 200),
      renewals: vault.count("auth/token/renew-self", 200),
      // A renewal may be refused when the max TTL, which Vault counts in whole seconds, ends
      // under a second after the lease would: the client then logs in at once. Everything
      // else the app sends must succeed.
      renewalsRefused: vault.requests.filter((r) => r.path === renew && r.status >= 400).length,
      refused: vault.requests.filter((r) => r.path !== renew && (r.status >= 400 || r.status === 0)).length,
    };
    log(
      `${result.logins} logins, ${result.renewals} renewals (${result.renewalsRefused} refused at the max TTL), ${result.refused} other refused requests`,
    );
    return result;
  } finally {
    await client.dispose();
    await vault.close();
    await stack.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runLocal({ tokenTtlSeconds: 3, tokenMaxTtlSeconds: 8, rounds: 12, intervalMs: 2_000 });
}
