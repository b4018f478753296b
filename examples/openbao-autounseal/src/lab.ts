// The local stand-in for the real deployment, on loopback: the Confidential Space emulator
// (image A), the token broker with a workload CA, a grant for image A with the key
// `openbao-unseal` and its key service, the workload's bootstrap step that writes the
// certificate files, and a real OpenBao whose `seal "transit"` points at the key service.
// Every part is the real one except the emulator; development only.
import { spawn } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LauncherClient } from "@confspace/attestation";
import { startCertificateRenewal } from "@confspace/bootstrap";
import { jsonLogger } from "@confspace/core";
import { type Emulator, startEmulator } from "@confspace/emulator";
import { createTestPki, type OpenBao, startOpenBao, type TestPki } from "@confspace/local";
import { type Broker, type BrokerConfig, createBroker } from "@confspace/token-broker";

/** The grant OpenBao's image gets, and the one transit key it lists. */
export const GRANT = "openbao";
export const UNSEAL_KEY = "openbao-unseal";
/** Another workload's grant and key, which OpenBao's certificate must not be able to use. */
export const OTHER_GRANT = "billing-app";
export const OTHER_KEY = "billing-state";
export const AUDIENCE = "https://broker.confspace.example";
/** An image no grant lists (a modified OpenBao image, say): the broker refuses it. */
export const IMAGE_B = `sha256:${"b".repeat(64)}`;
/** The other workload's image, approved for {@link OTHER_GRANT} only. */
export const IMAGE_C = `sha256:${"c".repeat(64)}`;

export interface LabOptions {
  log?: (line: string) => void;
}

/** Options of {@link Lab.startBroker}. */
export interface BrokerStart {
  /** Root versions to configure (each its own file, created once). Default `[1]`. */
  roots?: number[];
  /** `keyService.keys.openbao-unseal.minDecryptionVersion`. Default: none. */
  minDecryptionVersion?: number;
  /** The keys the OpenBao grant lists. Default `[UNSEAL_KEY]`. */
  grantKeys?: string[];
}

/** Options of {@link Lab.bootstrap}. */
export interface BootstrapRun {
  /** Directory for tls.crt, tls.key, workload-ca.crt, ca.crt. Default the lab's `certDir`. */
  outDir?: string;
  /** Attest as image B instead of the emulator's image A. */
  image?: "A" | "B";
  /** Requested certificate lifetime, seconds. Default: the grant's maximum. */
  lifetimeSeconds?: number;
  /**
   * Run the `confspace-bootstrap certificate` command as deploy/entrypoint.sh does (a child
   * process, the broker from CONFSPACE_BROKER_*, the launcher socket from
   * CONFSPACE_LAUNCHER_SOCKET) instead of the library call. Image A only.
   */
  cli?: boolean;
}

export interface Lab {
  readonly dir: string;
  /** Where the bootstrap writes the certificate files OpenBao reads. */
  readonly certDir: string;
  readonly pki: TestPki;
  readonly emulator: Emulator;
  /** `https://127.0.0.1:PORT` of the key service, the same across broker restarts. */
  readonly keyServiceUrl: string;
  readonly brokerUrl: string;
  /** The broker's JSON log lines (debug level), across restarts. */
  readonly brokerLogs: string[];
  /** (Re)starts the broker on the same ports with this root set. */
  startBroker(options?: BrokerStart): Promise<void>;
  stopBroker(): Promise<void>;
  /** The workload's bootstrap step: attest, obtain the certificate, write its files. Resolves with the grant. */
  bootstrap(options?: BootstrapRun): Promise<{ grant: string; expiresAt: number }>;
  /**
   * A persistent OpenBao auto-unsealing through the key service with the files in `certDir`.
   * `token` and `disableRenewal: false` make the seal send a token and renew it (the key
   * service ignores the token and answers the renewal); default: no token, no renewal.
   */
  startOpenBao(options?: { keyName?: string; token?: string; disableRenewal?: boolean }): Promise<OpenBao>;
  close(): Promise<void>;
}

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules", ".bin", "confspace-bootstrap");

/** `confspace-bootstrap certificate --out-dir DIR …`, the entrypoint's first step; resolves with what tls.crt says. */
async function bootstrapCommand(
  outDir: string,
  context: { brokerUrl: string; pki: TestPki; emulator: Emulator },
): Promise<{ grant: string; expiresAt: number }> {
  const args = ["certificate", "--out-dir", outDir, "--broker-ca", context.pki.caPath];
  args.push("--key-service-ca", context.pki.caPath, "--log-level", "warn");
  const env = {
    ...process.env,
    // `#!/usr/bin/env node`: this Node.
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
    CONFSPACE_BROKER_URL: context.brokerUrl,
    CONFSPACE_BROKER_AUDIENCE: AUDIENCE,
    CONFSPACE_LAUNCHER_SOCKET: context.emulator.socketPath,
  };
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(BIN, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stderr }));
  });
  if (code !== 0)
    throw new Error(`confspace-bootstrap certificate exited ${code}: ${stderr.trim().split("\n").at(-1)}`);
  const leaf = new X509Certificate(await readFile(join(outDir, "tls.crt"), "utf8"));
  const grant = /URI:urn:confspace:grant:([^,\s]+)/.exec(leaf.subjectAltName ?? "")?.[1] ?? "";
  return { grant, expiresAt: Date.parse(leaf.validTo) };
}

export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const log = options.log ?? (() => {});
  const dir = await mkdtemp(join(tmpdir(), "confspace-autounseal-"));
  const certDir = join(dir, "run-confspace");
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    const pki = await createTestPki();
    opened.push({ close: () => pki.cleanup() });
    const emulator = await startEmulator({ writeTokenFile: false });
    opened.push({ close: () => emulator.stop() });
    const imageA = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
    // Port 0 at the first start; restarts reuse the ports found then, so OpenBao's seal
    // address and the bootstrap's broker URL stay valid.
    let brokerPort = 0;
    let keyServicePort = 0;
    const rootFile = (version: number) => join(dir, `root-v${version}`);
    let broker: Broker | undefined;
    const bao: OpenBao[] = [];
    const brokerLogs: string[] = [];
    const logger = jsonLogger({ level: "debug", stream: { write: (line: string) => brokerLogs.push(line) } });

    const config = (start: BrokerStart): BrokerConfig => ({
      listen: { host: "127.0.0.1", port: brokerPort },
      tls: { certFile: pki.serverCertPath, keyFile: pki.serverKeyPath },
      attestation: { audience: AUDIENCE, issuer: emulator.issuer, policy: { imageDigests: [imageA, IMAGE_C] } },
      // The workload CA: signs the certificates the `certificate` provider issues; the key service trusts only it.
      certificates: { caCertFile: pki.caPath, caKeyFile: pki.caKeyPath },
      keyService: {
        listen: { host: "127.0.0.1", port: keyServicePort },
        roots: (start.roots ?? [1]).map((version) => ({ version, file: rootFile(version) })),
        ...(start.minDecryptionVersion !== undefined && {
          keys: { [UNSEAL_KEY]: { minDecryptionVersion: start.minDecryptionVersion } },
        }),
      },
      grants: [
        {
          name: GRANT,
          match: { imageDigests: [imageA] },
          certificate: { keys: start.grantKeys ?? [UNSEAL_KEY], maxLifetimeSeconds: 900 },
        },
        { name: OTHER_GRANT, match: { imageDigests: [IMAGE_C] }, certificate: { keys: [OTHER_KEY] } },
      ],
      metrics: { host: "127.0.0.1", port: 0 },
    });

    const lab: Lab = {
      dir,
      certDir,
      pki,
      emulator,
      get keyServiceUrl() {
        return `https://127.0.0.1:${keyServicePort}`;
      },
      get brokerUrl() {
        return `https://127.0.0.1:${brokerPort}`;
      },
      brokerLogs,
      async startBroker(start = {}) {
        await lab.stopBroker();
        for (const version of start.roots ?? [1]) {
          // A root is 32 random bytes, base64, created once: a restart with the same files is the same root.
          await writeFile(rootFile(version), randomBytes(32).toString("base64"), { mode: 0o600, flag: "wx" }).catch(
            (error: NodeJS.ErrnoException) => {
              if (error.code !== "EEXIST") throw error;
            },
          );
        }
        broker = createBroker(config(start), { logger });
        brokerPort = (await broker.listen()).port;
        const keyService = broker.serviceAddress("keyService");
        if (keyService === undefined) throw new Error("the broker started no key service");
        keyServicePort = keyService.port;
        log(`broker: ${lab.brokerUrl}, key service ${lab.keyServiceUrl}, roots v${(start.roots ?? [1]).join(", v")}`);
      },
      async stopBroker() {
        const running = broker;
        broker = undefined;
        await running?.close({ timeoutMs: 1_000 });
      },
      async bootstrap(run = {}) {
        const outDir = run.outDir ?? certDir;
        await mkdir(outDir, { recursive: true, mode: 0o700 });
        if (run.cli === true) return bootstrapCommand(outDir, { brokerUrl: lab.brokerUrl, pki, emulator });
        const renewal = startCertificateRenewal({
          outDir,
          brokerUrl: lab.brokerUrl,
          audience: AUDIENCE,
          tls: { ca: pki.caPem },
          // The key service's server certificate chains to the test CA: OpenBao's tls_ca_cert.
          serverCaPem: pki.caPem,
          ...(run.lifetimeSeconds !== undefined && { lifetimeSeconds: run.lifetimeSeconds }),
          ...(run.image === "B"
            ? {
                // The same emulator's issuer, but the claims of another image (as if image B ran).
                tokenSource: {
                  getToken: ({ nonces }: { nonces: string[] }) =>
                    emulator.mintToken({
                      audience: AUDIENCE,
                      nonces,
                      mutateClaims: (claims) => {
                        (claims.submods as { container: { image_digest: string } }).container.image_digest = IMAGE_B;
                      },
                    }),
                },
              }
            : { launcher: new LauncherClient({ socketPath: emulator.socketPath }) }),
        });
        try {
          const certificate = await renewal.ready;
          return { grant: certificate.grant, expiresAt: certificate.expiresAt };
        } finally {
          renewal.stop();
        }
      },
      async startOpenBao(start = {}) {
        const server = await startOpenBao({
          persistent: true,
          seal: {
            address: lab.keyServiceUrl,
            keyName: start.keyName ?? UNSEAL_KEY,
            tlsCaCert: join(certDir, "ca.crt"),
            tlsClientCert: join(certDir, "tls.crt"),
            tlsClientKey: join(certDir, "tls.key"),
            ...(start.token !== undefined && { token: start.token }),
            ...(start.disableRenewal !== undefined && { disableRenewal: start.disableRenewal }),
          },
        });
        bao.push(server);
        return server;
      },
      async close() {
        await Promise.allSettled(bao.map((server) => server.close()));
        await lab.stopBroker();
        for (const part of opened.reverse()) await part.close().catch(() => {});
        await rm(dir, { recursive: true, force: true });
      },
    };
    return lab;
  } catch (error) {
    for (const part of opened.reverse()) await part.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
