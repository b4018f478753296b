import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Clock, jsonLogger, systemClock } from "@confspace/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CallOptions, call } from "../../test/key-service-client.js";
import { type ClientPair, createKeyServicePki, type KeyServicePki } from "../../test/key-service-pki.js";
import type { KeyServiceConfig } from "./config.js";
import { type KeyService, startKeyService } from "./key-service.js";

const ROOT_1 = randomBytes(32).toString("base64");
const ROOT_2 = randomBytes(32).toString("base64");
const TOKEN = "hvs.a-vault-token-that-must-never-be-logged";
const SECRET = "OpenBao-root-key-material-never-logged";

let pki: KeyServicePki;
const certs: Record<string, ClientPair> = {};
/** The "current configuration": grant → keys. Tests change it to show it is read per request. */
let grants: Map<string, string[]>;
const running: KeyService[] = [];
const lines: string[] = [];

beforeAll(async () => {
  pki = await createKeyServicePki();
  const workload = "urn:confspace:workload:my-project/us-central1-a/openbao-0";
  const issued = await Promise.all([
    pki.client("a", { uris: ["urn:confspace:grant:a", workload] }),
    pki.client("b", { uris: ["urn:confspace:grant:b"] }),
    pki.client("c", { uris: ["urn:confspace:grant:c"] }),
    pki.client("removed", { uris: ["urn:confspace:grant:removed"] }),
    pki.client("nogrant", { uris: [workload] }),
    pki.client("twogrants", { uris: ["urn:confspace:grant:a", "urn:confspace:grant:b"] }),
    pki.client("expired", { uris: ["urn:confspace:grant:a"], dates: ["20200101000000Z", "20200102000000Z"] }),
    pki.client("foreign", { uris: ["urn:confspace:grant:a"], foreign: true }),
  ]);
  for (const pair of issued) certs[pair.certFile.replace(/^.*\/|\.pem$/g, "")] = pair;
  await writeFile(join(pki.dir, "root-1.b64"), ROOT_1);
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((service) => service.close(1_000)));
});

afterAll(async () => {
  await pki?.cleanup();
});

async function start(
  overrides: Partial<KeyServiceConfig> = {},
  env: Record<string, string> = {},
  clock?: Clock,
): Promise<KeyService> {
  grants = new Map([
    ["a", ["openbao-unseal", "shared"]],
    ["b", ["other"]],
    ["c", ["shared"]],
    ["nogrant", ["openbao-unseal"]],
  ]);
  lines.length = 0;
  const service = await startKeyService(
    {
      listen: { host: "127.0.0.1", port: 0 },
      roots: [{ version: 1, file: join(pki.dir, "root-1.b64") }],
      ...overrides,
    },
    {
      clientCaFile: pki.caFile,
      defaultTls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile },
      grantKeys: (grant) => grants.get(grant),
      env,
      ...(clock === undefined ? {} : { clock }),
      logger: jsonLogger({ level: "debug", stream: { write: (line: string) => lines.push(line) } }),
    },
  );
  running.push(service);
  return service;
}

const b64 = (text: string) => Buffer.from(text).toString("base64");
const as = (service: KeyService, client: ClientPair | undefined, path: string, options: CallOptions = {}) =>
  call(service.url, pki.caPem, path, { ...options, ...(client === undefined ? {} : { client }) });

describe("key service: the transit API", () => {
  it("encrypts and decrypts with PUT, as OpenBao's transit seal calls it, and with POST", async () => {
    const service = await start();
    const encrypted = await as(service, certs.a, "/v1/transit/encrypt/openbao-unseal", {
      body: { plaintext: b64(SECRET) },
      headers: { "x-vault-request": "true" },
    });
    expect(encrypted.status).toBe(200);
    expect(encrypted.body.data.ciphertext).toMatch(/^vault:v1:[A-Za-z0-9+/]+={0,2}$/);
    expect(encrypted.body.data.key_version).toBe(1);
    expect(encrypted.headers["content-type"]).toBe("application/json");
    const decrypted = await as(service, certs.a, "/v1/transit/decrypt/openbao-unseal", {
      method: "POST",
      body: { ciphertext: encrypted.body.data.ciphertext },
    });
    expect(decrypted.status).toBe(200);
    expect(Buffer.from(decrypted.body.data.plaintext, "base64").toString()).toBe(SECRET);
  });

  it("serves datakey/plaintext and datakey/wrapped; the wrapped key decrypts to the plaintext one", async () => {
    const service = await start();
    const plain = await as(service, certs.a, "/v1/transit/datakey/plaintext/shared", { body: {} });
    expect(plain.status).toBe(200);
    expect(Buffer.from(plain.body.data.plaintext, "base64")).toHaveLength(32);
    const opened = await as(service, certs.a, "/v1/transit/decrypt/shared", {
      body: { ciphertext: plain.body.data.ciphertext },
    });
    expect(opened.body.data.plaintext).toBe(plain.body.data.plaintext);
    const wrapped = await as(service, certs.a, "/v1/transit/datakey/wrapped/shared", { body: { bits: 512 } });
    expect(wrapped.status).toBe(200);
    expect(wrapped.body.data.plaintext).toBeUndefined();
    const unwrapped = await as(service, certs.a, "/v1/transit/decrypt/shared", {
      body: { ciphertext: wrapped.body.data.ciphertext },
    });
    expect(Buffer.from(unwrapped.body.data.plaintext, "base64")).toHaveLength(64);
  });

  it("answers under the configured mount only", async () => {
    const service = await start({ mountPath: "confspace/transit" });
    const ok = await as(service, certs.a, "/v1/confspace/transit/encrypt/shared", { body: { plaintext: "" } });
    expect(ok.status).toBe(200);
    const elsewhere = await as(service, certs.a, "/v1/transit/encrypt/shared", { body: { plaintext: "" } });
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body).toEqual({ errors: ["unsupported path"] });
  });

  it("answers token renew-self and lookup-self from the certificate, without a token or with any", async () => {
    const service = await start();
    const renewed = await as(service, certs.a, "/v1/auth/token/renew-self", {
      body: { increment: 0 },
      headers: { "x-vault-token": TOKEN },
    });
    expect(renewed.status).toBe(200);
    expect(renewed.body.auth.renewable).toBe(false);
    expect(renewed.body.auth.metadata).toEqual({ grant: "a", workload: "my-project/us-central1-a/openbao-0" });
    // Until the certificate expires (one day), give or take the test's own seconds.
    expect(renewed.body.auth.lease_duration).toBeGreaterThan(86_000);
    expect(renewed.body.auth.lease_duration).toBeLessThanOrEqual(86_400);
    const looked = await as(service, certs.a, "/v1/auth/token/lookup-self", { method: "GET" });
    expect(looked.status).toBe(200);
    expect(looked.body.data.display_name).toBe("cert-a");
    expect(looked.body.data.ttl).toBeGreaterThan(86_000);
    expect(lines.join("\n")).not.toContain(TOKEN);
  });
});

describe("key service: who may use which key", () => {
  it("refuses a key the certificate's grant does not list, with 403", async () => {
    const service = await start();
    const reply = await as(service, certs.b, "/v1/transit/encrypt/openbao-unseal", { body: { plaintext: b64("x") } });
    expect(reply.status).toBe(403);
    expect(reply.body).toEqual({ errors: ['permission denied: grant "b" does not list key "openbao-unseal"'] });
    // A key no grant lists at all looks the same: nothing tells whether another grant has it.
    const unknown = await as(service, certs.b, "/v1/transit/encrypt/nobody-has-this", {
      body: { plaintext: b64("x") },
    });
    expect(unknown.status).toBe(403);
    expect(unknown.body.errors[0]).toBe('permission denied: grant "b" does not list key "nobody-has-this"');
  });

  it("gives two grants listing the same key name different keys", async () => {
    const service = await start();
    const fromA = await as(service, certs.a, "/v1/transit/encrypt/shared", { body: { plaintext: b64(SECRET) } });
    const asC = await as(service, certs.c, "/v1/transit/decrypt/shared", {
      body: { ciphertext: fromA.body.data.ciphertext },
    });
    expect(asC.status).toBe(400);
    expect(asC.body.errors[0]).toMatch(/^invalid ciphertext: message authentication failed/);
    expect(JSON.stringify(asC.body)).not.toContain(b64(SECRET));
  });

  it("reads the grant's keys from the current configuration on every request", async () => {
    const service = await start();
    expect((await as(service, certs.a, "/v1/transit/encrypt/shared", { body: { plaintext: "" } })).status).toBe(200);
    grants.set("a", ["openbao-unseal"]);
    expect((await as(service, certs.a, "/v1/transit/encrypt/shared", { body: { plaintext: "" } })).status).toBe(403);
    grants.delete("a");
    const gone = await as(service, certs.a, "/v1/transit/encrypt/openbao-unseal", { body: { plaintext: "" } });
    expect(gone.status).toBe(403);
    expect(gone.body.errors[0]).toBe(`permission denied: grant "a" is not in this broker's configuration`);
  });

  it.each([
    ["no grant URI", "nogrant"],
    ["two grant URIs", "twogrants"],
  ])("refuses a certificate with %s, with 403", async (_, name) => {
    const service = await start();
    const reply = await as(service, certs[name], "/v1/transit/encrypt/openbao-unseal", { body: { plaintext: "" } });
    expect(reply.status).toBe(403);
    expect(reply.body.errors[0]).toBe(
      "permission denied: the client certificate must name exactly one grant (URI SAN urn:confspace:grant:<name>)",
    );
  });

  it("refuses a certificate that expired after the handshake (a keep-alive connection outliving it)", async () => {
    // The service's clock two days on: the one-day certificate passed the handshake but is over.
    const service = await start({}, {}, { ...systemClock, now: () => Date.now() + 2 * 86_400_000 });
    const reply = await as(service, certs.a, "/v1/transit/encrypt/openbao-unseal", { body: { plaintext: "" } });
    expect(reply.status).toBe(403);
    expect(reply.body.errors[0]).toBe("permission denied: the client certificate has expired");
  });

  it("refuses a grant that is not in the configuration", async () => {
    const service = await start();
    const reply = await as(service, certs.removed, "/v1/transit/encrypt/openbao-unseal", { body: { plaintext: "" } });
    expect(reply.status).toBe(403);
  });

  it.each([
    ["no client certificate", undefined],
    ["an expired certificate", "expired"],
    ["a certificate of another CA", "foreign"],
  ])("refuses %s at the TLS handshake", async (_, name) => {
    const service = await start();
    const attempt = as(service, name === undefined ? undefined : certs[name], "/v1/transit/encrypt/openbao-unseal", {
      body: { plaintext: "" },
    });
    await expect(attempt).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(service.metrics.handshakeFailures.value()).toBe(1);
    expect(service.metrics.requests.value({ operation: "encrypt", outcome: "ok" })).toBe(0);
  });
});

describe("key service: bad input", () => {
  let service: KeyService;
  let good: string;
  let bytes: Buffer;
  const KEY = "/v1/transit/decrypt/openbao-unseal";
  const tamper = (index: number) => {
    const copy = Buffer.from(bytes);
    copy[index]! ^= 0x80;
    return `vault:v1:${copy.toString("base64")}`;
  };
  it.each<[string, () => [string, CallOptions], number, string | RegExp]>([
    ["an unknown path", () => ["/v1/transit/keys/openbao-unseal", {}], 404, "unsupported path"],
    ["an unknown operation", () => ["/v1/transit/sign/openbao-unseal", { body: {} }], 404, "unsupported path"],
    ["a path outside /v1", () => ["/transit/encrypt/openbao-unseal", { body: {} }], 404, "unsupported path"],
    ["GET on encrypt", () => ["/v1/transit/encrypt/openbao-unseal", { method: "GET" }], 405, "use POST or PUT"],
    ["a malformed key name", () => ["/v1/transit/encrypt/a%2Fb", { body: { plaintext: "" } }], 400, "invalid key name"],
    ["a body that is not JSON", () => [KEY, { body: "{ciphertext" }], 400, /^failed to parse JSON input/],
    ["a JSON array", () => [KEY, { body: "[]" }], 400, "failed to parse JSON input: the body must be a JSON object"],
    ["no ciphertext", () => [KEY, { body: {} }], 400, "missing ciphertext to decrypt"],
    ["a numeric ciphertext", () => [KEY, { body: { ciphertext: 5 } }], 400, "missing ciphertext to decrypt"],
    [
      "a ciphertext without the vault prefix",
      () => [KEY, { body: { ciphertext: good.slice(9) } }],
      400,
      /^invalid ciphertext: expected/,
    ],
    [
      "a ciphertext of an unknown version",
      () => [KEY, { body: { ciphertext: good.replace("v1", "v7") } }],
      400,
      /^invalid key version: 7 does not exist/,
    ],
    [
      "a tampered ciphertext",
      () => [KEY, { body: { ciphertext: tamper(20) } }],
      400,
      /^invalid ciphertext: message authentication failed/,
    ],
    [
      "a tampered tag",
      () => [KEY, { body: { ciphertext: tamper(bytes.length - 1) } }],
      400,
      /message authentication failed/,
    ],
    [
      "a truncated ciphertext",
      () => [KEY, { body: { ciphertext: "vault:v1:AAAA" } }],
      400,
      "invalid ciphertext: too short",
    ],
    ["an unknown field", () => [KEY, { body: { ciphertext: good, extra: 1 } }], 400, 'unknown field "extra"'],
    [
      "batch_input",
      () => [KEY, { body: { batch_input: [] } }],
      400,
      "batch_input is not supported: send one request per item",
    ],
    [
      "a context",
      () => ["/v1/transit/encrypt/openbao-unseal", { body: { plaintext: "", context: "YQ==" } }],
      400,
      /^context is not supported/,
    ],
    ["no plaintext", () => ["/v1/transit/encrypt/openbao-unseal", { body: {} }], 400, "missing plaintext to encrypt"],
    [
      "a plaintext that is not base64",
      () => ["/v1/transit/encrypt/openbao-unseal", { body: { plaintext: "hello world" } }],
      400,
      "failed to base64-decode plaintext: it must be standard, padded base64",
    ],
    [
      "an unpadded plaintext",
      () => ["/v1/transit/encrypt/openbao-unseal", { body: { plaintext: "YQ" } }],
      400,
      /^failed to base64-decode plaintext/,
    ],
    [
      "a negative key_version",
      () => ["/v1/transit/encrypt/openbao-unseal", { body: { plaintext: "", key_version: -1 } }],
      400,
      /^invalid key_version/,
    ],
    [
      "a key_version with no root",
      () => ["/v1/transit/encrypt/openbao-unseal", { body: { plaintext: "", key_version: 2 } }],
      400,
      /^invalid key version: 2 does not exist/,
    ],
    [
      "datakey bits 100",
      () => ["/v1/transit/datakey/plaintext/openbao-unseal", { body: { bits: 100 } }],
      400,
      /^invalid bits/,
    ],
    [
      "a datakey of another type",
      () => ["/v1/transit/datakey/raw/openbao-unseal", { body: {} }],
      404,
      "unsupported path",
    ],
    [
      "a body over the cap",
      () => ["/v1/transit/encrypt/openbao-unseal", { body: { plaintext: Buffer.alloc(3000).toString("base64") } }],
      413,
      "the body exceeds 2048 bytes",
    ],
  ])("answers %s with a Vault-style error", async (_, request, status, message) => {
    service ??= await start({ maxBodyBytes: 2048 });
    if (good === undefined) {
      const encrypted = await as(service, certs.a, "/v1/transit/encrypt/openbao-unseal", {
        body: { plaintext: b64(SECRET) },
      });
      good = encrypted.body.data.ciphertext;
      bytes = Buffer.from(good.slice("vault:v1:".length), "base64");
    }
    const [path, options] = request();
    const reply = await as(service, certs.a, path, options);
    expect(reply.status).toBe(status);
    expect(Object.keys(reply.body)).toEqual(["errors"]);
    expect(reply.body.errors).toHaveLength(1);
    if (typeof message === "string") expect(reply.body.errors[0]).toBe(message);
    else expect(reply.body.errors[0]).toMatch(message);
    expect(JSON.stringify(reply.body)).not.toContain(b64(SECRET));
    // The service keeps the state across rows; `afterEach` must not close it.
    running.splice(running.indexOf(service), 1);
  });
  afterAll(async () => {
    await service?.close(1_000);
  });
});

describe("key service: versions, restarts and rotation", () => {
  it("decrypts after a restart with the same root, and after a rotation; encrypts with the newest version", async () => {
    const first = await start();
    const v1 = (await as(first, certs.a, "/v1/transit/encrypt/openbao-unseal", { body: { plaintext: b64(SECRET) } }))
      .body.data.ciphertext as string;
    await first.close();
    const again = await start();
    const reopened = await as(again, certs.a, "/v1/transit/decrypt/openbao-unseal", { body: { ciphertext: v1 } });
    expect(Buffer.from(reopened.body.data.plaintext, "base64").toString()).toBe(SECRET);
    await again.close();

    const rotated = await start(
      {
        roots: [
          { version: 1, file: join(pki.dir, "root-1.b64") },
          { version: 2, env: "ROOT_2" },
        ],
      },
      { ROOT_2 },
    );
    expect(rotated.latestVersion).toBe(2);
    const v2 = await as(rotated, certs.a, "/v1/transit/encrypt/openbao-unseal", { body: { plaintext: b64("new") } });
    expect(v2.body.data.key_version).toBe(2);
    expect(v2.body.data.ciphertext).toMatch(/^vault:v2:/);
    const old = await as(rotated, certs.a, "/v1/transit/decrypt/openbao-unseal", { body: { ciphertext: v1 } });
    expect(Buffer.from(old.body.data.plaintext, "base64").toString()).toBe(SECRET);
    await rotated.close();

    const retired = await start(
      {
        roots: [
          { version: 1, file: join(pki.dir, "root-1.b64") },
          { version: 2, env: "ROOT_2" },
        ],
        keys: { "openbao-unseal": { minDecryptionVersion: 2 } },
      },
      { ROOT_2 },
    );
    const refused = await as(retired, certs.a, "/v1/transit/decrypt/openbao-unseal", { body: { ciphertext: v1 } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0]).toMatch(/disallowed by policy \(too old; min_decryption_version is 2\)/);
    const stillV2 = await as(retired, certs.a, "/v1/transit/decrypt/openbao-unseal", {
      body: { ciphertext: v2.body.data.ciphertext },
    });
    expect(Buffer.from(stillV2.body.data.plaintext, "base64").toString()).toBe("new");
    // Another key of the same grant keeps its old version.
    const shared = await as(retired, certs.a, "/v1/transit/encrypt/shared", {
      body: { plaintext: "", key_version: 1 },
    });
    expect(shared.status).toBe(200);
  });

  it("does not decrypt with another root of the same version", async () => {
    const first = await start();
    const v1 = (await as(first, certs.a, "/v1/transit/encrypt/openbao-unseal", { body: { plaintext: b64(SECRET) } }))
      .body.data.ciphertext as string;
    await first.close();
    const other = await start({ roots: [{ version: 1, env: "OTHER" }] }, { OTHER: randomBytes(32).toString("base64") });
    const reply = await as(other, certs.a, "/v1/transit/decrypt/openbao-unseal", { body: { ciphertext: v1 } });
    expect(reply.status).toBe(400);
  });
});

describe("key service: logs and metrics", () => {
  it("logs who, which key, which operation and the outcome, never plaintext, ciphertext, root or token", async () => {
    const service = await start({ roots: [{ version: 1, env: "ROOT" }] }, { ROOT: ROOT_2 });
    const encrypted = await as(service, certs.a, "/v1/transit/encrypt/openbao-unseal", {
      body: { plaintext: b64(SECRET) },
      headers: { "x-vault-token": TOKEN },
    });
    await as(service, certs.a, "/v1/transit/decrypt/openbao-unseal", {
      body: { ciphertext: encrypted.body.data.ciphertext },
    });
    await as(service, certs.b, "/v1/transit/decrypt/openbao-unseal", {
      body: { ciphertext: encrypted.body.data.ciphertext },
    });
    const records = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((r) => r.msg === "key service request");
    expect(records.map((r) => [r.level, r.operation, r.grant, r.keyName, r.outcome, r.status, r.keyVersion])).toEqual([
      ["info", "encrypt", "a", "openbao-unseal", "ok", 200, 1],
      ["info", "decrypt", "a", "openbao-unseal", "ok", 200, 1],
      ["warn", "decrypt", "b", "openbao-unseal", "permission_denied", 403, undefined],
    ]);
    expect(records[0]?.workload).toBe("my-project/us-central1-a/openbao-0");
    expect(records[0]?.certificateSerial).toMatch(/^[0-9A-F]+$/);
    const all = lines.join("\n");
    for (const secret of [SECRET, b64(SECRET), encrypted.body.data.ciphertext, ROOT_2, TOKEN])
      expect(all).not.toContain(secret);
    expect(service.metrics.requests.value({ operation: "encrypt", outcome: "ok" })).toBe(1);
    expect(service.metrics.requests.value({ operation: "decrypt", outcome: "ok" })).toBe(1);
    expect(service.metrics.requests.value({ operation: "decrypt", outcome: "permission_denied" })).toBe(1);
    expect(service.metrics.render()).toContain(
      'confspace_broker_key_requests_total{operation="encrypt",outcome="ok"} 1',
    );
  });

  it("refuses a second service on the same port with ERR_BROKER_LISTEN", async () => {
    const service = await start();
    await expect(start({ listen: { host: "127.0.0.1", port: service.port } })).rejects.toMatchObject({
      code: "ERR_BROKER_LISTEN",
    });
  });
});
