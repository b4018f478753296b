import { execFile } from "node:child_process";
import { createHash, createPublicKey, verify } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { LogFields } from "@confspace/core";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, importX509, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { unixRequest } from "../test/unix-request.js";
import { startEmulator } from "./emulator.js";
import type { Emulator } from "./emulator-types.js";
import { generatePkiChain } from "./pki-chain.js";

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "confspace-emu-it-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("startEmulator / stop", () => {
  it("puts socket and token file in a fresh temp dir and removes it all on stop()", async () => {
    const emulator = await startEmulator();
    const dir = dirname(emulator.socketPath);
    expect(dir.startsWith(tmpdir())).toBe(true);
    expect(emulator.socketPath).toBe(join(dir, "teeserver.sock"));
    expect(emulator.tokenFile).toBe(join(dir, "attestation_verifier_claims_token"));
    const token = await readFile(emulator.tokenFile, "utf8");
    expect(decodeJwt(token)).toMatchObject({ aud: "https://sts.googleapis.com", iss: emulator.issuer });
    await emulator.stop();
    expect(await exists(dir)).toBe(false);
    await expect(fetch(emulator.jwksUri)).rejects.toThrow();
    await emulator.stop(); // idempotent
  });

  it("supports Symbol.asyncDispose", async () => {
    const emulator = await startEmulator({ writeTokenFile: false });
    await emulator[Symbol.asyncDispose]();
    expect(await exists(emulator.socketPath)).toBe(false);
  });

  it("creates a given dir, and on stop removes its own files but not the dir", async () => {
    const dir = join(scratch, "given", "nested");
    const emulator = await startEmulator({ dir });
    expect(emulator.socketPath).toBe(join(dir, "teeserver.sock"));
    expect((await readdir(dir)).sort()).toEqual(["attestation_verifier_claims_token", "teeserver.sock"]);
    await emulator.stop();
    expect(await readdir(dir)).toEqual([]);
  });

  it("uses explicit socket and token file paths", async () => {
    const socketPath = join(scratch, "custom.sock");
    const tokenFile = join(scratch, "custom-token");
    const emulator = await startEmulator({ socketPath, tokenFile });
    try {
      expect((await unixRequest(socketPath)).status).toBe(200);
      expect(decodeJwt(await readFile(tokenFile, "utf8")).iss).toBe(emulator.issuer);
    } finally {
      await emulator.stop();
    }
    expect(await exists(socketPath)).toBe(false);
    expect(await exists(tokenFile)).toBe(false);
  });

  it("throws ERR_EMULATOR_STOPPED when used after stop()", async () => {
    const emulator = await startEmulator({ writeTokenFile: false });
    await emulator.stop();
    await expect(emulator.mintToken()).rejects.toMatchObject({ code: "ERR_EMULATOR_STOPPED" });
    expect(() => emulator.failNext({ status: 500, body: "x" })).toThrow(/stopped/);
  });

  it("replaces a stale socket file but refuses a live one", async () => {
    const dir = join(scratch, "stale");
    const first = await startEmulator({ dir, writeTokenFile: false });
    await expect(startEmulator({ dir, writeTokenFile: false })).rejects.toMatchObject({
      code: "ERR_EMULATOR_LISTEN",
      message: expect.stringMatching(/is in use/),
    });
    await first.stop();
    // Leave a dead socket behind, as a crashed process would: listen, then SIGKILL.
    const script = `require("node:net").createServer().listen(${JSON.stringify(join(dir, "teeserver.sock"))}, () => process.kill(process.pid, "SIGKILL"))`;
    await new Promise((resolve) => execFile(process.execPath, ["-e", script], resolve));
    expect(await exists(join(dir, "teeserver.sock"))).toBe(true);
    const second = await startEmulator({ dir, writeTokenFile: false });
    expect((await unixRequest(second.socketPath)).status).toBe(200);
    await second.stop();
  });

  it.each([
    [
      { tokenLifetimeSeconds: 0 },
      { code: "ERR_INVALID_OPTION", option: "tokenLifetimeSeconds" },
      /tokenLifetimeSeconds/,
    ],
    [{ port: 70000 }, { code: "ERR_INVALID_OPTION", option: "port" }, /port/],
    [{ host: "" }, { code: "ERR_INVALID_OPTION", option: "host" }, /host/],
    [{ socketPath: `/tmp/${"s".repeat(120)}.sock` }, { code: "ERR_INVALID_OPTION", option: "socketPath" }, /107 bytes/],
    [{ profile: { iss: "https://confidentialcomputing.googleapis.com" } }, { code: "ERR_EMULATOR_PROFILE" }, /iss/],
    [{ tokenFile: "/nonexistent-dir/token" }, { code: "ERR_INVALID_OPTION", option: "tokenFile" }, /token file/],
  ])("rejects %j with %o", async (options, expected, message) => {
    const attempt = startEmulator({ ...(options as object), dir: join(scratch, "bad") });
    await expect(attempt).rejects.toMatchObject(expected);
    await expect(attempt).rejects.toThrow(message);
  });

  it("releases the socket and temp dir when startup fails half way", async () => {
    const isolated = join(scratch, "tmp-isolated");
    await mkdir(isolated);
    vi.stubEnv("TMPDIR", isolated);
    try {
      await expect(startEmulator({ tokenFile: "/nonexistent-dir/token" })).rejects.toThrow();
      expect(await readdir(isolated)).toEqual([]);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("fails with ERR_EMULATOR_LISTEN when the issuer port is taken", async () => {
    const first = await startEmulator({ writeTokenFile: false });
    try {
      const port = Number(new URL(first.issuer).port);
      await expect(startEmulator({ writeTokenFile: false, port })).rejects.toMatchObject({
        code: "ERR_EMULATOR_LISTEN",
      });
    } finally {
      await first.stop();
    }
  });
});

describe("tokens", () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator({ writeTokenFile: false, tokenLifetimeSeconds: 600 });
  });
  afterAll(async () => {
    await emulator.stop();
  });

  async function verifyOidc(token: string, audience: string) {
    const jwks = createLocalJWKSet((await (await fetch(emulator.jwksUri)).json()) as JSONWebKeySet);
    return jwtVerify(token, jwks, { issuer: emulator.issuer, audience, algorithms: ["RS256"] });
  }

  it("mints tokens carrying exactly claims() plus a fresh jti, with the configured lifetime", async () => {
    const options = { audience: "aud-1", nonces: ["0123456789"] };
    const expected = emulator.claims(options);
    const { payload } = await verifyOidc(await emulator.mintToken(options), "aud-1");
    expect({ ...payload, jti: undefined }).toEqual({ ...expected, jti: undefined });
    expect(payload.exp! - payload.iat!).toBe(600);
    expect(payload.sub).toMatch(
      /^https:\/\/www\.googleapis\.com\/compute\/v1\/projects\/[^/]+\/zones\/[^/]+\/instances\//,
    );
    expect(payload.eat_profile).toEqual(expect.any(String));
  });

  it("honours issuedAt and lifetimeSeconds, e.g. for an expired token", async () => {
    const issuedAt = Math.floor(Date.now() / 1000) - 7200;
    const token = await emulator.mintToken({ issuedAt, lifetimeSeconds: 60 });
    expect(decodeJwt(token)).toMatchObject({ iat: issuedAt, nbf: issuedAt, exp: issuedAt + 60 });
  });

  it("mutateClaims edits the payload before signing, and the signature still verifies", async () => {
    const token = await emulator.mintToken({
      nonces: ["0123456789"],
      mutateClaims: (claims) => {
        delete claims.eat_nonce;
        claims.swversion = 250301;
        claims.iss = "https://confidentialcomputing.googleapis.com";
      },
    });
    const jwks = createLocalJWKSet((await (await fetch(emulator.jwksUri)).json()) as JSONWebKeySet);
    const { payload } = await jwtVerify(token, jwks);
    expect(payload).not.toHaveProperty("eat_nonce");
    expect(payload.swversion).toBe(250301);
    expect(payload.iss).toBe("https://confidentialcomputing.googleapis.com");
  });

  it("mutateHeader can make the header lie over a genuine RS256 signature", async () => {
    const token = await emulator.mintToken({
      mutateHeader: (header) => {
        header.alg = "none";
        header.jku = "https://attacker.example/jwks";
      },
    });
    const [h, p, s] = token.split(".");
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: "none", jku: "https://attacker.example/jwks" });
    const jwks = (await (await fetch(emulator.jwksUri)).json()) as { keys: object[] };
    const key = createPublicKey({ key: jwks.keys[0] as never, format: "jwk" });
    expect(verify("sha256", Buffer.from(`${h}.${p}`), key, Buffer.from(s!, "base64url"))).toBe(true);
  });

  it("signs PKI tokens with the emulator's chain: x5c leaf→root, root matching the fingerprint", async () => {
    const token = await emulator.mintToken({ tokenType: "PKI", audience: "rp" });
    const header = decodeProtectedHeader(token);
    expect(header.x5c).toHaveLength(3);
    const rootDer = Buffer.from(header.x5c![2]!, "base64");
    expect(createHash("sha256").update(rootDer).digest("hex")).toBe(emulator.pkiRootFingerprint);
    const leaf = await importX509(emulator.pkiChain.leaf.certificatePem, "RS256");
    await expect(jwtVerify(token, leaf, { issuer: emulator.issuer, audience: "rp" })).resolves.toBeDefined();
  });

  it("signs PKI tokens with another chain when given one", async () => {
    const foreign = await generatePkiChain();
    const token = await emulator.mintToken({ tokenType: "PKI", pkiChain: foreign });
    expect(decodeProtectedHeader(token).x5c).toEqual(foreign.x5c);
    await expect(jwtVerify(token, await importX509(foreign.leaf.certificatePem, "RS256"))).resolves.toBeDefined();
    await expect(emulator.mintToken({ pkiChain: foreign })).rejects.toMatchObject({
      code: "ERR_INVALID_OPTION",
      option: "pkiChain",
    });
  });

  it("rejects an unknown token type and non-finite times", async () => {
    await expect(emulator.mintToken({ tokenType: "JWT" as "OIDC" })).rejects.toMatchObject({
      code: "ERR_INVALID_OPTION",
      option: "tokenType",
    });
    expect(() => emulator.claims({ issuedAt: Number.NaN })).toThrow(/issuedAt/);
  });
});

describe("options", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("applies the debug profile to launcher tokens", async () => {
    const emulator = await startEmulator({ profile: "debug", writeTokenFile: false });
    try {
      const claims = decodeJwt((await unixRequest(emulator.socketPath)).body) as Record<string, unknown> & {
        submods: { confidential_space: Record<string, unknown> };
      };
      expect(claims.dbgstat).toBe("enabled");
      expect(claims.submods.confidential_space).not.toHaveProperty("support_attributes");
    } finally {
      await emulator.stop();
    }
  });

  it("deep-merges a profile object over the defaults", async () => {
    const emulator = await startEmulator({
      profile: { hwmodel: "GCP_INTEL_TDX", submods: { gce: { project_id: "p2" } } },
      writeTokenFile: false,
    });
    try {
      const claims = emulator.claims() as { hwmodel: string; sub: string; submods: { gce: Record<string, string> } };
      expect(claims.hwmodel).toBe("GCP_INTEL_TDX");
      expect(claims.submods.gce).toMatchObject({ project_id: "p2", zone: "us-central1-a" });
      expect(claims.sub).toContain("/projects/p2/");
    } finally {
      await emulator.stop();
    }
  });

  it("uses the injected clock for iat", async () => {
    const emulator = await startEmulator({ writeTokenFile: false, now: () => Date.parse("2030-05-01T00:00:00Z") });
    try {
      expect(emulator.claims().iat).toBe(Date.parse("2030-05-01T00:00:00Z") / 1000);
    } finally {
      await emulator.stop();
    }
  });

  it("reuses a given PKI chain, keeping the pinned root across restarts", async () => {
    const chain = await generatePkiChain();
    const emulator = await startEmulator({ writeTokenFile: false, pkiChain: chain });
    try {
      expect(emulator.pkiRootFingerprint).toBe(chain.rootFingerprint);
      expect(emulator.pkiRootCertificatePem).toBe(chain.root.certificatePem);
    } finally {
      await emulator.stop();
    }
  });

  it("refreshTokenFile() rewrites the file with a new token; it is an error when the file is off", async () => {
    const emulator = await startEmulator();
    try {
      const before = decodeJwt(await readFile(emulator.tokenFile, "utf8")).jti;
      await emulator.refreshTokenFile();
      expect(decodeJwt(await readFile(emulator.tokenFile, "utf8")).jti).not.toBe(before);
    } finally {
      await emulator.stop();
    }
    const off = await startEmulator({ writeTokenFile: false });
    try {
      expect(await exists(off.tokenFile)).toBe(false);
      await expect(off.refreshTokenFile()).rejects.toMatchObject({
        code: "ERR_INVALID_OPTION",
        option: "writeTokenFile",
      });
    } finally {
      await off.stop();
    }
  });

  it("refreshes the token file on its own between 70 % and 90 % of a short lifetime", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const emulator = await startEmulator({ tokenLifetimeSeconds: 10 });
    try {
      const first = await readFile(emulator.tokenFile, "utf8");
      expect(decodeJwt(first).exp! - decodeJwt(first).iat!).toBe(10);
      await vi.advanceTimersByTimeAsync(6_999);
      expect(await readFile(emulator.tokenFile, "utf8")).toBe(first);
      await vi.advanceTimersByTimeAsync(2_001);
      let current = first;
      for (let i = 0; i < 200 && current === first; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        current = await readFile(emulator.tokenFile, "utf8");
      }
      expect(current).not.toBe(first);
    } finally {
      await emulator.stop();
    }
  });

  it("logs requests without ever logging a token", async () => {
    const lines: { message: string; fields?: LogFields }[] = [];
    const record = (message: string, fields?: LogFields) => lines.push({ message, fields });
    const emulator = await startEmulator({ logger: { debug: record, info: record, warn: record, error: record } });
    try {
      await unixRequest(emulator.socketPath);
      await emulator.refreshTokenFile();
    } finally {
      await emulator.stop();
    }
    expect(lines.some((line) => line.message.includes("launcher emulator: request"))).toBe(true);
    expect(JSON.stringify(lines)).not.toMatch(/eyJ/);
  });
});
