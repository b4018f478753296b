import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKeyServiceClient, KeyServiceError, SealedStateError, sealState } from "@confspace/ekm-tls";
import { type Emulator, startEmulator } from "@confspace/emulator";
import { createTestPki, type TestPki } from "@confspace/testing";
import { type Broker, createBroker } from "@confspace/token-broker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBootstrap } from "../bootstrap.js";
import { startCertificateRenewal } from "../certificate-files.js";
import { parseBootstrapConfig } from "../config.js";
import { SecretResolutionError } from "../errors.js";
import { resolveSecrets } from "../resolve-secrets.js";

// The real parts end to end: the emulator's launcher, the token broker issuing workload
// certificates (provider "certificate") and serving its attested key service, and the
// bootstrap resolving a sealed secret through them before an app would start.
const AUDIENCE = "https://broker.confspace.test";
const SECRET = "db-password-sealed-do-not-leak";
const OTHER_IMAGE = `sha256:${"c".repeat(64)}`;
let pki: TestPki;
let emulator: Emulator;
let broker: Broker;
let dir: string;
let brokerUrl: string;
let keyServiceUrl: string;
let savedSocket: string | undefined;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  pki = await createTestPki();
  emulator = await startEmulator({ writeTokenFile: false });
  dir = await mkdtemp(join(tmpdir(), "confspace-datakey-"));
  const image = (emulator.claims().submods as { container: { image_digest: string } }).container.image_digest;
  const [brokerPort, keyServicePort] = [await freePort(), await freePort()];
  await writeFile(join(dir, "root-v1"), randomBytes(32).toString("base64"), { mode: 0o600 });
  broker = createBroker({
    listen: { host: "127.0.0.1", port: brokerPort },
    tls: { certFile: pki.serverCertPath, keyFile: pki.serverKeyPath },
    attestation: { audience: AUDIENCE, issuer: emulator.issuer, policy: { imageDigests: [image, OTHER_IMAGE] } },
    certificates: { caCertFile: pki.caPath, caKeyFile: pki.caKeyPath },
    keyService: {
      listen: { host: "127.0.0.1", port: keyServicePort },
      roots: [{ version: 1, file: join(dir, "root-v1") }],
    },
    grants: [
      { name: "app", match: { imageDigests: [image] }, certificate: { keys: ["app-secrets"] } },
      { name: "other", match: { imageDigests: [OTHER_IMAGE] }, certificate: { keys: ["other-secrets"] } },
    ],
  });
  await broker.listen();
  brokerUrl = `https://localhost:${brokerPort}`;
  keyServiceUrl = `https://localhost:${keyServicePort}`;
  savedSocket = process.env.CONFSPACE_LAUNCHER_SOCKET;
  process.env.CONFSPACE_LAUNCHER_SOCKET = emulator.socketPath;
}, 60_000);
afterAll(async () => {
  if (savedSocket === undefined) delete process.env.CONFSPACE_LAUNCHER_SOCKET;
  else process.env.CONFSPACE_LAUNCHER_SOCKET = savedSocket;
  await broker?.close();
  await emulator?.stop();
  await pki?.cleanup();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** The workload's own step: certificate files from the broker, then a key-service client from them. */
async function workloadKeys() {
  const outDir = join(dir, `run-${randomBytes(4).toString("hex")}`);
  const renewal = startCertificateRenewal({
    outDir,
    brokerUrl,
    audience: AUDIENCE,
    tls: { ca: pki.caPem },
    serverCaPem: pki.caPem,
  });
  await renewal.ready;
  renewal.stop();
  return createKeyServiceClient({
    url: keyServiceUrl,
    certificate: await readFile(join(outDir, "tls.crt"), "utf8"),
    privateKey: await readFile(join(outDir, "tls.key"), "utf8"),
    ca: await readFile(join(outDir, "ca.crt"), "utf8"),
  });
}

const config = (entry: Record<string, unknown>) =>
  parseBootstrapConfig({
    keyService: { url: keyServiceUrl, brokerUrl, audience: AUDIENCE, caFile: pki.caPath },
    secrets: [{ name: "db", from: "broker-datakey", env: "DB_PASSWORD", ...entry }],
  });

async function failure(entry: Record<string, unknown>): Promise<SecretResolutionError> {
  const error = await resolveSecrets(config(entry)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SecretResolutionError);
  expect((error as Error).message).not.toContain(SECRET);
  return error as SecretResolutionError;
}

describe("broker-datakey against the real broker and its key service", () => {
  let sealedFile: string;
  let blob: string;
  beforeAll(async () => {
    using keys = await workloadKeys();
    blob = await sealState(keys, "app-secrets", Buffer.from(SECRET), { context: "db" });
    sealedFile = join(dir, "db.sealed");
    await writeFile(sealedFile, blob);
  });

  it("opens a secret the approved image sealed, from a file or inline", async () => {
    const [fromFile] = await resolveSecrets(config({ key: "app-secrets", sealedFile, context: "db" }));
    expect(Buffer.from(fromFile?.value ?? []).toString()).toBe(SECRET);
    const [inline] = await resolveSecrets(config({ key: "app-secrets", sealed: blob, context: "db" }));
    expect(Buffer.from(inline?.value ?? []).toString()).toBe(SECRET);
  });

  it("fails the secret with the key service's 403 when the blob claims another grant's key", async () => {
    const stolen = JSON.stringify({ ...JSON.parse(blob), key: "other-secrets" });
    const error = await failure({ key: "other-secrets", sealed: stolen, context: "db" });
    expect(error.cause).toBeInstanceOf(KeyServiceError);
    expect(error.cause).toMatchObject({ code: "ERR_KEY_SERVICE_DENIED", status: 403 });
  });

  it("fails the secret when the blob was changed or the context differs", async () => {
    const parsed = JSON.parse(blob) as Record<string, string>;
    const bytes = Buffer.from(parsed.ciphertext as string, "base64");
    bytes[0] = (bytes[0] as number) ^ 1;
    const changed = JSON.stringify({ ...parsed, ciphertext: bytes.toString("base64") });
    for (const entry of [
      { key: "app-secrets", sealed: changed, context: "db" },
      { key: "app-secrets", sealedFile, context: "api" },
    ]) {
      const error = await failure(entry);
      expect(error.cause).toBeInstanceOf(SealedStateError);
      expect((error.cause as SealedStateError).reason).toBe("integrity");
    }
  });

  it("writes the certificate: section's files before the app starts, which can use them at once", async () => {
    const outDir = join(dir, "entrypoint");
    const app = [
      "const fs = require('fs'), path = require('path');",
      "for (const f of ['tls.crt', 'tls.key', 'ca.crt', 'workload-ca.crt']) fs.statSync(path.join(process.argv[1], f));",
      "process.exit((fs.statSync(path.join(process.argv[1], 'tls.key')).mode & 0o777) === 0o600 ? 7 : 1);",
    ].join("\n");
    const exit = await runBootstrap(
      parseBootstrapConfig({ certificate: { outDir, brokerUrl, audience: AUDIENCE, caFile: pki.caPath } }),
      process.execPath,
      ["-e", app, outDir],
    );
    expect(exit.exitCode).toBe(7);
  });

  it("refuses, at load time, a broker-datakey secret without a keyService section", () => {
    expect(() =>
      parseBootstrapConfig({ secrets: [{ name: "x", from: "broker-datakey", key: "k", sealed: "{}", env: "X" }] }),
    ).toThrow(/keyService: section/);
  });
});
