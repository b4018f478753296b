import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidOptionError } from "@confspace/core";
import { createTestPki, type OpenBao, startOpenBao, type TestPki } from "@confspace/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPENSSL } from "../test/tls-fixtures.js";
import { createCsr } from "./internal/csr.js";
import { createKeyServiceClient, type KeyServiceClientOptions } from "./key-service-client.js";
import { KeyServiceError, SealedStateError } from "./key-service-error.js";
import { openState, SEALED_STATE_FORMAT, sealState } from "./sealed-state.js";

// Real OpenBao with its own transit engine behind mutual TLS (tls_require_and_verify_client_cert):
// the same API as the broker's key service. The client certificate is one this package's CSR
// writer asked for and openssl signed with the CA OpenBao trusts, as a workload's would be.
const SECRET = "sealed-plaintext-do-not-leak";
let pki: TestPki;
let bao: OpenBao;
let dir: string;
let token: string;
let certificate: string;
let privateKey: string;

beforeAll(async () => {
  pki = await createTestPki();
  bao = await startOpenBao({ tls: { pki, requireClientCert: true } });
  dir = mkdtempSync(join(tmpdir(), "confspace-keys-"));
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  writeFileSync(join(dir, "req.csr"), createCsr({ ...keys, commonName: "workload", dnsNames: [] }));
  writeFileSync(join(dir, "ext"), "extendedKeyUsage=clientAuth\nsubjectAltName=URI:urn:confspace:grant:a\n");
  execFileSync(OPENSSL, [
    "x509",
    "-req",
    "-in",
    join(dir, "req.csr"),
    "-CA",
    pki.caPath,
    "-CAkey",
    join(pki.dir, "ca.key"),
    "-set_serial",
    "77",
    "-days",
    "1",
    "-extfile",
    join(dir, "ext"),
    "-out",
    join(dir, "leaf.pem"),
  ]);
  certificate = readFileSync(join(dir, "leaf.pem"), "utf8");
  privateKey = keys.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  for (const key of ["app-state", "other"]) {
    await bao.request({ method: "POST", path: `transit/keys/${key}` });
  }
  const policy = ["encrypt", "decrypt", "datakey/plaintext", "datakey/wrapped"]
    .map((op) => `path "transit/${op}/app-state" { capabilities = ["update"] }`)
    .join("\n");
  await bao.request({ method: "PUT", path: "sys/policies/acl/app", body: { policy } });
  const created = await bao.request({
    method: "POST",
    path: "auth/token/create",
    body: { policies: ["app"], ttl: "10m" },
  });
  token = (created.body?.auth as { client_token: string } | undefined)?.client_token ?? "";
});
afterAll(async () => {
  await bao?.close();
  await pki?.cleanup();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const clientOptions = (extra: Partial<KeyServiceClientOptions> = {}): KeyServiceClientOptions => ({
  url: bao.address,
  certificate,
  privateKey,
  ca: pki.caPem,
  token,
  ...extra,
});

async function failure(promise: Promise<unknown>): Promise<KeyServiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeyServiceError);
  expect(String((error as Error).message)).not.toContain(SECRET);
  expect(String((error as Error).message)).not.toContain(token);
  return error as KeyServiceError;
}

describe("createKeyServiceClient against OpenBao's transit engine over mTLS", () => {
  it("encrypts and decrypts, with vault:v1: ciphertexts", async () => {
    using keys = createKeyServiceClient(clientOptions());
    const { ciphertext, keyVersion } = await keys.encrypt("app-state", Buffer.from(SECRET));
    expect(ciphertext).toMatch(/^vault:v1:/);
    expect(keyVersion).toBe(1);
    expect((await keys.decrypt("app-state", ciphertext)).toString()).toBe(SECRET);
  });

  it("makes data keys: plaintext and wrapped, and the wrapped form unwraps to the plaintext", async () => {
    using keys = createKeyServiceClient(clientOptions());
    const key = await keys.dataKey("app-state", "plaintext");
    expect(key.plaintext).toHaveLength(32);
    expect(await keys.decrypt("app-state", key.ciphertext)).toEqual(key.plaintext);
    const wrapped = await keys.dataKey("app-state", "wrapped", { bits: 512 });
    expect(wrapped.plaintext).toBeUndefined();
    expect(await keys.decrypt("app-state", wrapped.ciphertext)).toHaveLength(64);
  });

  it("seals state that a new client (a restart, another replica) opens, and refuses tampering", async () => {
    const blob = await (async () => {
      using keys = createKeyServiceClient(clientOptions());
      return await sealState(keys, "app-state", Buffer.from(SECRET), { context: "state.json" });
    })();
    expect(blob).not.toContain(SECRET);
    const parsed = JSON.parse(blob) as Record<string, string>;
    expect(parsed).toMatchObject({ format: SEALED_STATE_FORMAT, key: "app-state" });
    expect(parsed.wrapped_key).toMatch(/^vault:v\d+:/);

    using keys = createKeyServiceClient(clientOptions());
    expect((await openState(keys, "app-state", Buffer.from(blob), { context: "state.json" })).toString()).toBe(SECRET);

    const flipped = Buffer.from(parsed.ciphertext as string, "base64");
    flipped[0] = (flipped[0] as number) ^ 1;
    const rows: Array<[string, string, string | undefined, string]> = [
      [
        "a changed ciphertext",
        JSON.stringify({ ...parsed, ciphertext: flipped.toString("base64") }),
        "state.json",
        "integrity",
      ],
      ["another context", blob, "other.json", "integrity"],
      ["no context", blob, undefined, "integrity"],
      ["another key name", JSON.stringify({ ...parsed, key: "other" }), "state.json", "key"],
      ["an unknown format", JSON.stringify({ ...parsed, format: "v0" }), "state.json", "format"],
      ["an extra field", JSON.stringify({ ...parsed, extra: "x" }), "state.json", "format"],
      ["not JSON", "garbage", "state.json", "format"],
    ];
    for (const [name, bad, context, reason] of rows) {
      const error = await openState(keys, "app-state", bad, context === undefined ? {} : { context }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(SealedStateError);
      expect((error as SealedStateError).reason, name).toBe(reason);
    }
  });

  it("decrypts old versions after a rotation until min_decryption_version retires them", async () => {
    await bao.request({ method: "POST", path: "transit/keys/rotating" });
    await bao.request({
      method: "PUT",
      path: "sys/policies/acl/rotating",
      body: { policy: 'path "transit/+/rotating" { capabilities = ["update"] }' },
    });
    const created = await bao.request({
      method: "POST",
      path: "auth/token/create",
      body: { policies: ["rotating"], ttl: "10m" },
    });
    using keys = createKeyServiceClient(
      clientOptions({ token: (created.body?.auth as { client_token: string } | undefined)?.client_token ?? "" }),
    );
    const v1 = await keys.encrypt("rotating", Buffer.from(SECRET));
    await bao.request({ method: "POST", path: "transit/keys/rotating/rotate" });
    const v2 = await keys.encrypt("rotating", Buffer.from(SECRET));
    expect([v1.keyVersion, v2.keyVersion]).toEqual([1, 2]);
    expect((await keys.decrypt("rotating", v1.ciphertext)).toString()).toBe(SECRET);
    await bao.request({ method: "POST", path: "transit/keys/rotating/config", body: { min_decryption_version: 2 } });
    const error = await failure(keys.decrypt("rotating", v1.ciphertext));
    expect(error).toMatchObject({
      code: "ERR_KEY_SERVICE_REQUEST",
      status: 400,
      operation: "decrypt",
      keyName: "rotating",
    });
    expect((await keys.decrypt("rotating", v2.ciphertext)).toString()).toBe(SECRET);
  });

  it("reports a key the token may not use as ERR_KEY_SERVICE_DENIED", async () => {
    using keys = createKeyServiceClient(clientOptions());
    const error = await failure(keys.encrypt("other", Buffer.from(SECRET)));
    expect(error).toMatchObject({ code: "ERR_KEY_SERVICE_DENIED", status: 403, keyName: "other" });
    expect(error.description).toContain("permission denied");
  });

  it("reports tampered ciphertext as ERR_KEY_SERVICE_REQUEST without echoing anything", async () => {
    using keys = createKeyServiceClient(clientOptions());
    const { ciphertext } = await keys.encrypt("app-state", Buffer.from(SECRET));
    const body = Buffer.from(ciphertext.slice("vault:v1:".length), "base64");
    body[body.length - 1] = (body[body.length - 1] as number) ^ 1;
    const error = await failure(keys.decrypt("app-state", `vault:v1:${body.toString("base64")}`));
    expect(error).toMatchObject({ code: "ERR_KEY_SERVICE_REQUEST", status: 400 });
    expect(error.message).not.toContain(body.toString("base64"));
  });

  it("reports a client certificate from another CA, and an untrusted server, as ERR_KEY_SERVICE_TLS", async () => {
    execFileSync(
      OPENSSL,
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=x",
        "-days",
        "1",
        "-keyout",
        join(dir, "self.key"),
        "-out",
        join(dir, "self.pem"),
      ],
      { stdio: "ignore" },
    );
    const self = readFileSync(join(dir, "self.pem"), "utf8");
    const selfKey = readFileSync(join(dir, "self.key"), "utf8");
    using stranger = createKeyServiceClient(clientOptions({ certificate: self, privateKey: selfKey }));
    expect((await failure(stranger.encrypt("app-state", Buffer.from(SECRET)))).code).toBe("ERR_KEY_SERVICE_TLS");
    using untrusting = createKeyServiceClient(clientOptions({ ca: self }));
    expect((await failure(untrusting.encrypt("app-state", Buffer.from(SECRET)))).code).toBe("ERR_KEY_SERVICE_TLS");
    // A renewed certificate swapped in: new connections present it.
    stranger.updateCertificate(certificate, privateKey);
    expect((await stranger.encrypt("app-state", Buffer.from(SECRET))).ciphertext).toMatch(/^vault:v\d+:/);
  });

  it.each<[string, Partial<KeyServiceClientOptions>, string]>([
    ["an http URL", { url: "http://127.0.0.1:8200" }, "url"],
    ["a URL with a path", { url: "https://127.0.0.1:8200/v1" }, "url"],
    ["a bad mount", { mountPath: "../sys" }, "mountPath"],
    ["no certificate", { certificate: "" }, "certificate"],
    ["an unknown option", { insecure: true } as never, "insecure"],
    ["a zero timeout", { timeoutMs: 0 }, "timeoutMs"],
  ])("refuses %s with InvalidOptionError", (_name, extra, option) => {
    expect(() => createKeyServiceClient(clientOptions(extra))).toThrow(
      expect.objectContaining({ constructor: InvalidOptionError, option }),
    );
  });

  it("refuses bad key names and ciphertexts before sending", async () => {
    using keys = createKeyServiceClient(clientOptions());
    await expect(keys.encrypt("../sys/seal", Buffer.from("x"))).rejects.toMatchObject({ option: "keyName" });
    await expect(keys.decrypt("app-state", "vault:v0:AAAA")).rejects.toMatchObject({ option: "ciphertext" });
    await expect(keys.dataKey("app-state", "plaintext", { bits: 64 as never })).rejects.toMatchObject({
      option: "bits",
    });
  });
});
