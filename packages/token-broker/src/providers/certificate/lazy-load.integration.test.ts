// The CSR parser, DER codec and signer are imported only when `certificates` is configured
// (at listen()), so a broker without workload certificates does not load them.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const INDEX = fileURLToPath(new URL("../../index.ts", import.meta.url));
const DIGEST = `sha256:${"1a".repeat(32)}`;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "confspace-cert-lazy-"));
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key");
  openssl(
    ...["req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=ca", "-days", "1", "-out", "ca.crt"],
    ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"],
  );
});
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/**
 * The certificate modules (under providers/certificate/, and core's DER codec) a fresh
 * process loads creating and starting a broker.
 */
function certificateModulesLoaded(withCertificates: boolean): string[] {
  const config = {
    listen: { host: "127.0.0.1", port: 0 },
    // The CA doubles as the TLS server certificate: only loading matters here.
    tls: { certFile: join(dir, "ca.crt"), keyFile: join(dir, "ca.key") },
    attestation: { audience: "https://broker.test", policy: { imageDigests: [DIGEST] } },
    ...(withCertificates ? { certificates: { caCertFile: join(dir, "ca.crt"), caKeyFile: join(dir, "ca.key") } } : {}),
    // Without certificates, the grant gives an AWS role instead (a grant must give something).
    ...(withCertificates
      ? {}
      : {
          upstreams: {
            aws: { region: "us-east-1", credentials: { accessKeyIdEnv: "KEY", secretAccessKeyEnv: "SKEY" } },
          },
        }),
    grants: [
      {
        name: "g",
        match: { imageDigests: [DIGEST] },
        ...(withCertificates ? { certificate: {} } : { aws: [{ roleArn: "arn:aws:iam::123456789012:role/reader" }] }),
      },
    ],
    metrics: false,
  };
  const script = `
    import { registerHooks } from "node:module";
    const seen = new Set();
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
    const { createBroker } = await import(${JSON.stringify(INDEX)});
    const broker = createBroker(${JSON.stringify(config)}, { env: { KEY: "k", SKEY: "sk" } });
    await broker.listen();
    await broker.close();
    const names = [...seen].flatMap((url) =>
      url.includes("/providers/certificate/") ? [url.split("/").at(-1)]
        : url.includes("/core/src/der/") || url.includes("/core/dist/der.") ? ["@confspace/core/der"] : []);
    console.log(JSON.stringify(names.sort()));
  `;
  const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "null") as string[];
}

describe("certificate modules are imported only when certificates is configured", () => {
  it("a broker without certificates loads only the configuration reader (not the DER codec)", () => {
    expect(certificateModulesLoaded(false)).toEqual(["config.ts"]);
  });

  it("a broker with certificates loads the CSR parser and signer when it starts", () => {
    expect(certificateModulesLoaded(true)).toEqual([
      "@confspace/core/der",
      "ca.ts",
      "config.ts",
      "csr.ts",
      "issuer.ts",
      "sign-certificate.ts",
    ]);
  });
});
