// Production entry point, inside Confidential Space: everything comes from the
// environment (see README.md). CONFSPACE_VAULT_ADDR (or VAULT_ADDR), CONFSPACE_VAULT_ROLE,
// CONFSPACE_VAULT_AUDIENCE, and VAULT_CACERT if Vault's CA is private.
import { jsonLogger } from "@confspace/core";
import { VaultJwtClient } from "@confspace/vault-jwt";
import { runApp } from "./app.js";

const env = (name: string, fallback: string) => process.env[name] || fallback;

const vault = new VaultJwtClient({ logger: jsonLogger({ level: "info" }), revokeOnDispose: true });
const stop = async () => {
  await vault.dispose().catch(() => {});
  process.exit(0);
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);

await runApp({
  vault,
  kvMount: env("EXAMPLE_KV_MOUNT", "secret"),
  configPath: env("EXAMPLE_CONFIG_PATH", "tee-app/config"),
  heartbeatPath: env("EXAMPLE_HEARTBEAT_PATH", "tee-app/heartbeat"),
  transitMount: env("EXAMPLE_TRANSIT_MOUNT", "transit"),
  transitKey: env("EXAMPLE_TRANSIT_KEY", "tee-app"),
  rounds: Number(env("EXAMPLE_ROUNDS", String(Number.MAX_SAFE_INTEGER))),
  intervalMs: Number(env("EXAMPLE_INTERVAL_MS", "60000")),
});
await vault.dispose();
