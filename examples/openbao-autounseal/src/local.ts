// `pnpm --filter @confspace-examples/openbao-autounseal local`: the whole scenario on
// loopback in one command — emulator, token broker with its key service, the workload's
// bootstrap step, and a real OpenBao (from BAO_BIN / VAULT_BIN, `.tools/bin/bao` or `bao` on
// PATH) that auto-unseals through the key service. Nothing here is needed in production.
import { randomBytes } from "node:crypto";
import { GRANT, startLab, UNSEAL_KEY } from "./lab.js";

export interface LocalRunResult {
  /** The grant the bootstrap's certificate was issued for. */
  grant: string;
  /** `sys/seal-status` after the restart. */
  afterRestart: { type: string; sealed: boolean };
  /** Whether the secret written before the restart read back unchanged. */
  secretReadBack: boolean;
  /** What the broker answered image B's bootstrap. */
  imageB: string;
}

export async function runLocal(log: (line: string) => void = console.log): Promise<LocalRunResult> {
  const lab = await startLab({ log });
  try {
    await lab.startBroker();
    // 1. The container starts: the bootstrap attests and writes tls.crt / tls.key / ca.crt.
    const issued = await lab.bootstrap();
    log(`bootstrap: certificate for grant "${issued.grant}" until ${new Date(issued.expiresAt).toISOString()}`);
    // OpenBao starts with seal "transit" → the key service; `bao operator init` (recovery key only).
    const bao = await lab.startOpenBao();
    const first = await bao.sealStatus();
    log(`OpenBao ${bao.version}: initialised with a recovery key, seal type ${first.type}, sealed: ${first.sealed}`);
    const password = randomBytes(12).toString("base64url");
    await bao.request({ method: "POST", path: "secret/data/app/db", body: { data: { password } } });
    log("wrote secret/app/db");

    // 2. Stop it and start it again — no human, no unseal key: the key service unseals it.
    await bao.stop();
    // A restarted container attests again: deploy/entrypoint.sh's first step, the real command.
    const again = await lab.bootstrap({ cli: true });
    log(`confspace-bootstrap certificate --out-dir …: a fresh certificate for grant "${again.grant}"`);
    await bao.start();
    const afterRestart = await bao.sealStatus();
    const read = await bao.request({ method: "GET", path: "secret/data/app/db" });
    const secretReadBack =
      (read.body?.data as { data?: { password?: string } } | undefined)?.data?.password === password;
    log(
      `restarted: unsealed by itself (seal type ${afterRestart.type}, sealed: ${afterRestart.sealed}), ` +
        `secret read back: ${secretReadBack}`,
    );
    await bao.stop();

    // 3. Another image asks for the certificate: the broker refuses, naming the failed check.
    let imageB = "issued (unexpected)";
    await lab.bootstrap({ image: "B", outDir: `${lab.dir}/image-b` }).then(
      (other) => {
        imageB = `issued for grant "${other.grant}", which does not list ${UNSEAL_KEY}`;
      },
      (error: Error & { code?: string; check?: string }) => {
        imageB = `refused: ${error.code ?? error.name}${error.check === undefined ? "" : ` (check ${error.check})`}`;
      },
    );
    log(`image B bootstrap: ${imageB}`);
    return { grant: issued.grant, afterRestart, secretReadBack, imageB };
  } finally {
    await lab.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runLocal();
  if (result.grant !== GRANT || result.afterRestart.sealed || !result.secretReadBack) process.exitCode = 1;
}
