import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EmulatorOptionError } from "../errors.js";
import { envLine, parseCliArgs } from "./cli-args.js";

describe("parseCliArgs", () => {
  it("maps every flag to its option", async () => {
    const command = await parseCliArgs([
      "--dir=/tmp/d",
      "--socket",
      "/tmp/d/s.sock",
      "--token-file",
      "/tmp/d/token",
      "--host",
      "::1",
      "--port",
      "8080",
      "--profile",
      "debug",
      "--lifetime",
      "120",
      "--quota",
      "--verbose",
    ]);
    expect(command).toEqual({
      help: false,
      verbose: true,
      options: {
        dir: "/tmp/d",
        socketPath: "/tmp/d/s.sock",
        tokenFile: "/tmp/d/token",
        host: "::1",
        port: 8080,
        profile: "debug",
        tokenLifetimeSeconds: 120,
        launcherQuota: true,
      },
    });
  });

  it("returns no options for no flags, and help for -h", async () => {
    expect(await parseCliArgs([])).toEqual({ help: false, verbose: false, options: {} });
    expect(await parseCliArgs(["-h"])).toEqual({ help: true });
  });

  it("turns the token file off with --no-token-file", async () => {
    expect(await parseCliArgs(["--no-token-file"])).toMatchObject({ options: { writeTokenFile: false } });
  });

  it("reads each --image-signer file, a private key as privateKey and a public key as publicKey", async () => {
    const dir = await mkdtemp(join(tmpdir(), "emulator-signers-"));
    try {
      const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
      const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
      await writeFile(join(dir, "builder.key"), privatePem);
      await writeFile(join(dir, "alice.pub"), publicPem);
      const command = await parseCliArgs([
        "--image-signer",
        join(dir, "builder.key"),
        "--image-signer",
        join(dir, "alice.pub"),
      ]);
      expect(command).toMatchObject({
        options: { imageSigners: [{ privateKey: privatePem }, { publicKey: publicPem }] },
      });
      await expect(parseCliArgs(["--image-signer", join(dir, "missing.pub")])).rejects.toMatchObject({
        option: "--image-signer",
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("loads --profile FILE as JSON claims", async () => {
    const dir = await mkdtemp(join(tmpdir(), "confspace-cli-"));
    try {
      const path = join(dir, "p.json");
      await writeFile(path, '{"hwmodel":"GCP_INTEL_TDX"}');
      expect(await parseCliArgs(["--profile", path])).toMatchObject({
        options: { profile: { hwmodel: "GCP_INTEL_TDX" } },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [["--port", "http"], /--port: invalid value "http"/, "--port"],
    [["--port", "70000"], /--port/, "--port"],
    [["--port", "-1"], /--port/, "argv"],
    [["--lifetime", "0"], /--lifetime/, "--lifetime"],
    [["--lifetime", "1h"], /--lifetime/, "--lifetime"],
    [["--bogus"], /Unknown option '--bogus'/, "argv"],
    [["positional"], /positional/, "argv"],
  ])("rejects %j with EmulatorOptionError naming the flag", async (args, message, flag) => {
    const attempt = parseCliArgs(args);
    await expect(attempt).rejects.toBeInstanceOf(EmulatorOptionError);
    await expect(attempt).rejects.toMatchObject({ code: "ERR_INVALID_OPTION", option: flag });
    await expect(attempt).rejects.toThrow(message);
  });
});

describe("envLine", () => {
  it("prints plain values bare and quotes the rest for the shell", () => {
    expect(envLine("K", "/tmp/a-b_c.sock")).toBe("K=/tmp/a-b_c.sock");
    expect(envLine("K", "http://127.0.0.1:80/jwks")).toBe("K=http://127.0.0.1:80/jwks");
    expect(envLine("K", "/tmp/with space")).toBe("K='/tmp/with space'");
    expect(envLine("K", "it's")).toBe("K='it'\\''s'");
  });
});
