// examples/vault-kv end to end against real OpenBao: JWT login with the attestation token,
// KV read/write and transit decrypt across several 5-second token lifetimes.
import { runLocal } from "../../examples/vault-kv/src/local.ts";
import { type DemoContext, expectThat } from "./support.ts";

export async function demoVault(ctx: DemoContext): Promise<void> {
  ctx.step(1, 2, "vault: examples/vault-kv against real OpenBao, across token expiries");
  const result = await runLocal({
    tokenTtlSeconds: 2,
    tokenMaxTtlSeconds: 5,
    // 12 × 0.7 s ≈ 8.4 s: past the 5 s max TTL by more than a whole 2 s lease, so the re-login
    // happens inside the run even when a loaded machine stretches the rounds (8 rounds, ~5.6 s,
    // ended before it once on CI).
    rounds: 12,
    intervalMs: 700,
    log: ctx.indent(""),
  });
  ctx.step(2, 2, "vault: checking what happened");
  expectThat(
    result.rounds.every((r) => r.message === "only the attested workload can read this"),
    "every round should open the sealed message",
  );
  expectThat(result.logins >= 2, `the client should log in again after the max TTL (${result.logins} logins)`);
  expectThat(result.refused === 0, `no request but a renewal at the max TTL may be refused (${result.refused})`);
  console.log(
    `  ✓ ${result.rounds.length} rounds, ${result.logins} logins, ${result.renewals} renewals, nothing else refused`,
  );
}
