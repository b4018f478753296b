import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Emulator, startEmulator } from "@confspace/emulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CertificateBroker, startCertificateBroker } from "../test/certificate-broker.js";
import { killAll, startCli, until } from "../test/processes.js";

// The CLI as an image's entrypoint step runs it: attestation tokens from the (emulated)
// launcher socket, the broker stand-in signing with the test PKI's CA.
const AUDIENCE = "https://broker.confspace.test";
let emulator: Emulator;
let broker: CertificateBroker;
let dir: string;
beforeAll(async () => {
  emulator = await startEmulator({ writeTokenFile: false });
  broker = await startCertificateBroker();
  dir = await mkdtemp(join(tmpdir(), "confspace-cert-cli-"));
});
afterAll(async () => {
  await broker?.close();
  await emulator?.stop();
  await rm(dir, { recursive: true, force: true });
});
afterEach(killAll);

const run = (outDir: string, extra: string[] = []) =>
  startCli(["certificate", "--out-dir", outDir, "--broker-ca", broker.pki.caPath, "--log-level", "warn", ...extra], {
    CONFSPACE_LAUNCHER_SOCKET: emulator.socketPath,
    CONFSPACE_BROKER_URL: broker.url,
    CONFSPACE_BROKER_AUDIENCE: AUDIENCE,
  });

describe("confspace-bootstrap certificate", () => {
  it("writes the files once and exits 0, ca.crt being the broker's CA", async () => {
    const outDir = join(dir, "once");
    const cli = run(outDir);
    expect((await cli.exit).code).toBe(0);
    expect(cli.stdout()).toBe("");
    for (const file of ["tls.crt", "tls.key", "ca.crt", "workload-ca.crt"]) {
      expect(existsSync(join(outDir, file))).toBe(true);
    }
    expect((await stat(join(outDir, "tls.key"))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(outDir, "ca.crt"), "utf8")).toBe(broker.pki.caPem);
    expect(broker.requests.at(-1)).toMatchObject({ provider: "certificate" });
  });

  it("with --renew keeps running until SIGTERM, then exits 0", async () => {
    const outDir = join(dir, "renew");
    const cli = run(outDir, ["--renew"]);
    await until(() => existsSync(join(outDir, "tls.crt")), 15_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(cli.child.exitCode).toBeNull();
    cli.child.kill("SIGTERM");
    expect(await cli.exit).toEqual({ code: 0, signal: null });
  });

  it("exits 1 naming the failed check when the broker refuses the attestation, writing nothing", async () => {
    const outDir = join(dir, "refused");
    broker.answers.push({
      status: 401,
      body: { error: "invalid_token", error_description: "image", check: "image_digest" },
    });
    const cli = run(outDir, ["--renew"]);
    expect((await cli.exit).code).toBe(1);
    expect(cli.stderr()).toContain('check "image_digest" failed');
    expect(existsSync(join(outDir, "tls.crt"))).toBe(false);
  });

  it.each([
    [["certificate"], "--out-dir"],
    [["certificate", "--out-dir", "/tmp/x", "--key-type", "DSA"], "--key-type"],
    [["certificate", "--out-dir", "/tmp/x", "--lifetime-seconds", "0"], "--lifetime-seconds"],
    [["certificate", "--out-dir", "/tmp/x", "--bogus"], "bogus"],
  ])("exits 2 for bad usage %j", async (args, mentioned) => {
    const cli = startCli(args, { CONFSPACE_BROKER_URL: broker.url, CONFSPACE_BROKER_AUDIENCE: AUDIENCE });
    expect((await cli.exit).code).toBe(2);
    expect(cli.stderr()).toContain(mentioned);
  });
});
