// The workload: read its configuration from KV v2, unwrap its data key with transit, open
// the sealed message with it, and write a heartbeat — round after round, for as long as it
// runs, through one VaultJwtClient that keeps its Vault token valid. Nothing here knows
// whether Vault is real or local.
import type { VaultJwtClient } from "@confspace/vault-jwt";
import { open } from "./sealed.js";

export interface AppOptions {
  vault: VaultJwtClient;
  /** KV v2 mount and the path of the configuration secret. */
  kvMount: string;
  configPath: string;
  /** Where each round writes a heartbeat (same mount). */
  heartbeatPath: string;
  /** Transit mount and key that wrap the data key. */
  transitMount: string;
  transitKey: string;
  rounds: number;
  intervalMs: number;
  log?: (line: string) => void;
}

/** What one round did (no secret values). */
export interface Round {
  round: number;
  heartbeatVersion: number;
  message: string;
  leaseSeconds: number;
  renewals: number;
  loggedInAt: number;
}

interface AppConfig {
  greeting: string;
  wrapped_data_key: string;
  sealed_message: string;
}

export async function runApp(options: AppOptions): Promise<Round[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const kv = options.vault.kv(options.kvMount);
  const transit = options.vault.transit(options.transitMount);
  const rounds: Round[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const config = await kv.read<AppConfig>(options.configPath);
    if (config?.data === null || config === undefined)
      throw new Error(`no configuration at ${options.kvMount}/${options.configPath}`);
    const dataKey = await transit.decrypt(options.transitKey, config.data.wrapped_data_key);
    const message = open(dataKey, config.data.sealed_message);
    dataKey.fill(0);
    const heartbeat = await kv.write(options.heartbeatPath, { round, at: new Date().toISOString() });
    const info = options.vault.tokenInfo()!;
    rounds.push({
      round,
      heartbeatVersion: heartbeat.version,
      message,
      leaseSeconds: info.leaseSeconds,
      renewals: info.renewals,
      loggedInAt: info.loggedInAt,
    });
    log(
      `round ${round}: ${config.data.greeting} — opened "${message}" with the transit-wrapped data key, heartbeat v${heartbeat.version}; token lease ${info.leaseSeconds}s, ${info.renewals} renewal(s) since login at ${new Date(info.loggedInAt).toISOString()}, next: ${info.next}`,
    );
    if (round < options.rounds) await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
  return rounds;
}
