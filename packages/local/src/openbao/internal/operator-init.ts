// `bao operator init` for an auto-unsealing server: one recovery key share, JSON output. Run
// as the real CLI (not sys/init) so the helper initialises a server the way an operator does.
import { execFile } from "node:child_process";

export interface InitResult {
  rootToken: string;
  recoveryKey: string;
}

export interface CliTls {
  caPath: string;
  clientCertPath?: string;
  clientKeyPath?: string;
}

/** Runs `<binary> operator init -recovery-shares=1 -recovery-threshold=1 -format=json` against `address`. */
export function operatorInit(binary: string, address: string, tls: CliTls | undefined): Promise<InitResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ["TOKEN", "NAMESPACE", "CACERT", "CAPATH", "CLIENT_CERT", "CLIENT_KEY", "SKIP_VERIFY"]) {
    delete env[`BAO_${name}`];
    delete env[`VAULT_${name}`];
  }
  for (const prefix of ["BAO_", "VAULT_"]) {
    env[`${prefix}ADDR`] = address;
    if (tls !== undefined) {
      env[`${prefix}CACERT`] = tls.caPath;
      if (tls.clientCertPath !== undefined) env[`${prefix}CLIENT_CERT`] = tls.clientCertPath;
      if (tls.clientKeyPath !== undefined) env[`${prefix}CLIENT_KEY`] = tls.clientKeyPath;
    }
  }
  const args = ["operator", "init", "-recovery-shares=1", "-recovery-threshold=1", "-format=json"];
  return new Promise((resolve, reject) => {
    execFile(binary, args, { env, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error !== null) {
        // stderr is the CLI's own message (e.g. the seal's error); stdout would hold keys, never quote it.
        reject(new Error(`${binary} operator init failed: ${stderr.trim() || error.message}`));
        return;
      }
      let parsed: { root_token?: unknown; recovery_keys_b64?: unknown };
      try {
        parsed = JSON.parse(stdout) as typeof parsed;
      } catch {
        reject(new Error(`${binary} operator init printed no JSON`));
        return;
      }
      const recovery = Array.isArray(parsed.recovery_keys_b64) ? parsed.recovery_keys_b64[0] : undefined;
      if (typeof parsed.root_token !== "string" || typeof recovery !== "string") {
        reject(new Error(`${binary} operator init printed no root token or recovery key (is a seal configured?)`));
        return;
      }
      resolve({ rootToken: parsed.root_token, recoveryKey: recovery });
    });
  });
}
