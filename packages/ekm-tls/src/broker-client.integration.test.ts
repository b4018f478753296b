import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { type AttestationTokenSource, LauncherClient, LauncherUnavailableError } from "@confspace/attestation";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestPki, startHttpsServer, type TestPki, type TestServer } from "../test/tls-fixtures.js";
import { brokerEkmOptions, brokerNonce } from "./broker-binding.js";
import { requestBrokerCredential } from "./broker-client.js";
import { BrokerError } from "./broker-error.js";
import { BoundConnectionError, EkmArgumentError, EkmError } from "./errors.js";
import type { AzureTokenRequestBody } from "./protocol.js";
import { requestKeyingMaterial } from "./server-ekm.js";

const AUDIENCE = "https://broker.confspace.test";
const BODY: AzureTokenRequestBody = { provider: "azure", scope: "https://storage.azure.com/.default" };
/** Recognisable, so tests can assert it never shows up in an error. */
const SECRET_MARK = "attestation-token-do-not-leak";

let pki: TestPki;
beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => pki.dispose());

interface Received {
  body: Record<string, unknown>;
  expectedNonce: string;
  socket: TLSSocket;
  headers: IncomingMessage["headers"];
}

/** A token source standing in for the launcher: the token carries the nonces it was asked for. */
function recordingSource() {
  const calls: Array<{ nonces: readonly string[] | undefined }> = [];
  const source: AttestationTokenSource = {
    getToken: async (options) => {
      calls.push({ nonces: options?.nonces });
      return `${SECRET_MARK}.${(options?.nonces ?? []).join(",")}`;
    },
  };
  return { source, calls };
}

type Reply = (req: Received, res: ServerResponse) => void;

function brokerHandler(received: Received[], reply: () => Reply) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const entry: Received = {
        body: JSON.parse(Buffer.concat(chunks).toString() || "{}") as Record<string, unknown>,
        expectedNonce: brokerNonce(requestKeyingMaterial(req, brokerEkmOptions(AUDIENCE))),
        socket: req.socket as TLSSocket,
        headers: req.headers,
      };
      received.push(entry);
      reply()(entry, res);
    });
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return (_req, res) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  };
}

describe("requestBrokerCredential against a TLS 1.3 broker", () => {
  let server: TestServer;
  let received: Received[];
  let reply: Reply;

  beforeEach(async () => {
    received = [];
    reply = json(200, { access_token: "at", token_type: "Bearer", expires_on: 1, refresh_in: 1 });
    server = await startHttpsServer(
      { key: pki.server.key, cert: pki.server.cert, minVersion: "TLSv1.3" },
      brokerHandler(received, () => reply),
    );
  });
  afterEach(() => server.close());

  const call = (extra: Partial<Parameters<typeof requestBrokerCredential>[0]> = {}) =>
    requestBrokerCredential({
      brokerUrl: server.url,
      audience: AUDIENCE,
      tls: { ca: pki.server.cert },
      body: BODY,
      tokenSource: recordingSource().source,
      ...extra,
    });

  it("binds the token to the connection it is sent on and returns the broker's JSON", async () => {
    const { source, calls } = recordingSource();
    const result = await call({ tokenSource: source });
    expect(result).toEqual({ access_token: "at", token_type: "Bearer", expires_on: 1, refresh_in: 1 });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.nonces).toHaveLength(1);
    const [entry] = received;
    expect(calls[0]?.nonces?.[0]).toBe(entry?.expectedNonce);
    expect(entry?.body).toEqual({ attestation_token: `${SECRET_MARK}.${entry?.expectedNonce}`, ...BODY });
    expect(entry?.headers["content-type"]).toBe("application/json");
    expect(server.connections).toHaveLength(1);
  });

  it("uses a new connection, and so a new nonce, for every call, and closes it afterwards", async () => {
    await call();
    await call();
    expect(server.connections).toHaveLength(2);
    expect(received[0]?.expectedNonce).not.toBe(received[1]?.expectedNonce);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.connections.every((socket) => socket.destroyed)).toBe(true);
  });

  it.each([
    [
      "401 with a check",
      401,
      { error: "invalid_token", error_description: "broker-description-image", check: "image_digest" },
      {},
      {
        code: "ERR_BROKER_DENIED",
        status: 401,
        error: "invalid_token",
        check: "image_digest",
        description: "broker-description-image",
      },
    ],
    [
      "401 nonce",
      401,
      { error: "invalid_token", error_description: "broker-description-1", check: "nonce" },
      {},
      { code: "ERR_BROKER_DENIED", check: "nonce" },
    ],
    [
      "403",
      403,
      { error: "access_denied", error_description: "broker-description-2" },
      {},
      { code: "ERR_BROKER_DENIED", status: 403, error: "access_denied", check: undefined },
    ],
    [
      "429 with Retry-After",
      429,
      { error: "rate_limited", error_description: "broker-description-3" },
      { "retry-after": "7" },
      { code: "ERR_BROKER_RATE_LIMITED", status: 429, retryAfterMs: 7000 },
    ],
    [
      "503 with Retry-After",
      503,
      { error: "upstream_unavailable", error_description: "broker-description-4" },
      { "retry-after": "2" },
      { code: "ERR_BROKER_UNAVAILABLE", status: 503, error: "upstream_unavailable", retryAfterMs: 2000 },
    ],
    [
      "503 verifier",
      503,
      { error: "verifier_unavailable", error_description: "broker-description-5" },
      {},
      { code: "ERR_BROKER_UNAVAILABLE", error: "verifier_unavailable", retryAfterMs: undefined },
    ],
    [
      "500",
      500,
      { error: "server_error", error_description: "broker-description-6" },
      {},
      { code: "ERR_BROKER_UNAVAILABLE", status: 500 },
    ],
    [
      "400",
      400,
      { error: "invalid_request", error_description: "broker-description-7" },
      {},
      { code: "ERR_BROKER_REQUEST", status: 400 },
    ],
    [
      "413",
      413,
      { error: "request_too_large", error_description: "broker-description-8" },
      {},
      { code: "ERR_BROKER_REQUEST", status: 413 },
    ],
    [
      "404",
      404,
      { error: "not_found", error_description: "broker-description-9" },
      {},
      { code: "ERR_BROKER_PROTOCOL", status: 404 },
    ],
    [
      "302 without a body",
      302,
      "",
      { location: "https://elsewhere.example/" },
      { code: "ERR_BROKER_PROTOCOL", status: 302 },
    ],
    ["200 not JSON", 200, "<html>", {}, { code: "ERR_BROKER_PROTOCOL", status: 200 }],
    ["200 a JSON array", 200, "[1]", {}, { code: "ERR_BROKER_PROTOCOL" }],
    ["200 JSON null", 200, "null", {}, { code: "ERR_BROKER_PROTOCOL" }],
    [
      "401 with a check that is not a word",
      401,
      { error: "invalid_token", check: "image digest\nInjected: yes" },
      {},
      { code: "ERR_BROKER_DENIED", check: undefined },
    ],
    [
      "401 with a non-string error",
      401,
      { error: { nested: true } },
      {},
      { code: "ERR_BROKER_DENIED", error: undefined },
    ],
  ] as const)("maps %s to a typed BrokerError", async (_name, status, body, headers, expected) => {
    reply = json(status, body, headers);
    const error = await call().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ brokerUrl: server.url, ...expected });
    const message = (error as Error).message;
    expect(message).not.toContain(SECRET_MARK);
    expect(message).not.toContain("\n");
    if (typeof body === "object" && "error_description" in body) expect(message).not.toContain(body.error_description);
    if ("check" in expected && expected.check !== undefined) expect(message).toContain(`"${expected.check}"`);
  });

  it("reads an HTTP-date Retry-After", async () => {
    reply = json(429, { error: "rate_limited" }, { "retry-after": new Date(Date.now() + 60_000).toUTCString() });
    const error = (await call().catch((caught: unknown) => caught)) as BrokerError;
    expect(error.retryAfterMs).toBeGreaterThan(55_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it("refuses a reply larger than 64 KiB as not the broker protocol", async () => {
    reply = json(200, { padding: "x".repeat(70_000) });
    await expect(call()).rejects.toMatchObject({ code: "ERR_BROKER_PROTOCOL" });
  });

  it("times out with ERR_BROKER_UNAVAILABLE when the broker never answers", async () => {
    reply = () => {};
    const started = Date.now();
    const error = await call({ timeoutMs: 300 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ code: "ERR_BROKER_UNAVAILABLE", status: undefined });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("times out while the token source hangs, before anything is sent", async () => {
    const hanging: AttestationTokenSource = { getToken: () => new Promise(() => {}) };
    await expect(call({ tokenSource: hanging, timeoutMs: 200 })).rejects.toMatchObject({
      code: "ERR_BROKER_UNAVAILABLE",
    });
    expect(received).toHaveLength(0);
  });

  it("rejects with the caller's abort reason", async () => {
    reply = () => {};
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    setTimeout(() => controller.abort(reason), 50);
    await expect(call({ signal: controller.signal })).rejects.toBe(reason);
  });

  it("passes launcher errors through unchanged and sends nothing", async () => {
    const unavailable = new LauncherUnavailableError("/nowhere.sock", "no launcher here");
    const source: AttestationTokenSource = { getToken: () => Promise.reject(unavailable) };
    await expect(call({ tokenSource: source })).rejects.toBe(unavailable);
    expect(received).toHaveLength(0);
  });

  it("refuses a token source that returns something other than a token", async () => {
    const source = { getToken: async () => 42 } as unknown as AttestationTokenSource;
    await expect(call({ tokenSource: source })).rejects.toBeInstanceOf(EkmArgumentError);
    expect(received).toHaveLength(0);
  });

  it.each([
    ["a body with attestation_token", { body: { ...BODY, attestation_token: "x" } as AzureTokenRequestBody }, "body"],
    ["a body that is an array", { body: [] as unknown as AzureTokenRequestBody }, "body"],
    ["both tokenSource and launcher", { launcher: new LauncherClient({ socketPath: "/nowhere.sock" }) }, "tokenSource"],
    ["an unknown tokenType", { tokenType: "AWS_PRINCIPALTAGS" as "OIDC" }, "tokenType"],
    ["a negative timeout", { timeoutMs: -1 }, "timeoutMs"],
    ["an empty audience", { audience: "" }, "audience"],
    ["an http URL", { brokerUrl: "http://127.0.0.1:1" }, "url"],
    ["a URL with a path", { brokerUrl: "https://127.0.0.1:1/v1" }, "url"],
  ] as const)("refuses %s before connecting", async (_name, extra, argument) => {
    await expect(call(extra)).rejects.toMatchObject({ code: "ERR_EKM_INVALID_ARGUMENT", argument });
    expect(server.connections).toHaveLength(0);
  });
});

describe("requestBrokerCredential with the launcher", () => {
  let dir: string;
  let launcher: Server;
  let launcherBodies: Array<Record<string, unknown>>;
  let broker: TestServer;
  let received: Received[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "confspace-broker-client-"));
    launcherBodies = [];
    // The launcher's reply is a raw JWT; LauncherClient checks it is one, with an exp.
    launcher = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
        launcherBodies.push(body);
        const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
        const payload = {
          aud: body.audience,
          eat_nonce: (body.nonces as string[])[0],
          exp: Math.floor(Date.now() / 1000) + 60,
        };
        res.writeHead(200, { "content-type": "text/html" });
        res.end(`${part({ alg: "RS256", kid: "k" })}.${part(payload)}.c2ln`);
      });
    });
    await new Promise<void>((resolve) => launcher.listen(join(dir, "teeserver.sock"), resolve));
    received = [];
    broker = await startHttpsServer(
      { key: pki.server.key, cert: pki.server.cert },
      brokerHandler(received, () => json(200, { ok: true })),
    );
  });
  afterAll(async () => {
    await broker.close();
    await new Promise((resolve) => launcher.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(["OIDC", "PKI"] as const)(
    "asks the launcher for a %s token with exactly the connection's nonce",
    async (tokenType) => {
      launcherBodies.length = 0;
      received.length = 0;
      const result = await requestBrokerCredential({
        brokerUrl: broker.url,
        audience: AUDIENCE,
        tls: { ca: pki.server.cert },
        body: BODY,
        launcher: new LauncherClient({ socketPath: join(dir, "teeserver.sock") }),
        tokenType,
      });
      expect(result).toEqual({ ok: true });
      expect(launcherBodies).toEqual([
        { audience: AUDIENCE, nonces: [received[0]?.expectedNonce], token_type: tokenType },
      ]);
      const token = received[0]?.body.attestation_token as string;
      const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as {
        eat_nonce: string;
      };
      expect(claims.eat_nonce).toBe(received[0]?.expectedNonce);
    },
  );
});

describe("requestBrokerCredential connection failures", () => {
  it("reports a refused connection as ERR_BROKER_UNAVAILABLE with the ekm-tls error as cause", async () => {
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const { source, calls } = recordingSource();
    const error = (await requestBrokerCredential({
      brokerUrl: `https://127.0.0.1:${port}`,
      audience: AUDIENCE,
      body: BODY,
      tokenSource: source,
    }).catch((caught: unknown) => caught)) as BrokerError;
    expect(error).toBeInstanceOf(BrokerError);
    expect(error.code).toBe("ERR_BROKER_UNAVAILABLE");
    expect(error.message).toContain("ECONNREFUSED");
    expect(error.cause).toBeInstanceOf(BoundConnectionError);
    expect(calls).toHaveLength(0);
  });

  it("reports a TLS 1.2-only broker as ERR_BROKER_TLS caused by ERR_TLS_VERSION", async () => {
    const server = await startHttpsServer(
      { key: pki.server.key, cert: pki.server.cert, maxVersion: "TLSv1.2" },
      (_req, res) => res.end(),
    );
    try {
      const error = (await requestBrokerCredential({
        brokerUrl: server.url,
        audience: AUDIENCE,
        tls: { ca: pki.server.cert },
        body: BODY,
        tokenSource: recordingSource().source,
      }).catch((caught: unknown) => caught)) as BrokerError;
      expect(error).toMatchObject({ code: "ERR_BROKER_TLS" });
      expect(error.cause).toBeInstanceOf(EkmError);
      expect(error.cause).toMatchObject({ code: "ERR_TLS_VERSION" });
      expect(error.message).toContain("TLS 1.3");
    } finally {
      await server.close();
    }
  });

  it("reports an untrusted broker certificate as ERR_BROKER_TLS", async () => {
    const server = await startHttpsServer({ key: pki.server.key, cert: pki.server.cert }, (_req, res) => res.end());
    try {
      await expect(
        requestBrokerCredential({
          brokerUrl: server.url,
          audience: AUDIENCE,
          tls: { ca: pki.other.cert },
          body: BODY,
          tokenSource: recordingSource().source,
        }),
      ).rejects.toMatchObject({ code: "ERR_BROKER_TLS", cause: expect.any(BoundConnectionError) });
    } finally {
      await server.close();
    }
  });

  it("with mutual TLS: refused without a client certificate (ERR_BROKER_TLS), served with one", async () => {
    const received: Received[] = [];
    const server = await startHttpsServer(
      { key: pki.server.key, cert: pki.server.cert, ca: pki.client.cert, requestCert: true, rejectUnauthorized: true },
      brokerHandler(received, () => json(200, { ok: true })),
    );
    try {
      const base = { brokerUrl: server.url, audience: AUDIENCE, body: BODY };
      const refused = (await requestBrokerCredential({
        ...base,
        tls: { ca: pki.server.cert },
        tokenSource: recordingSource().source,
      }).catch((caught: unknown) => caught)) as BrokerError;
      expect(refused).toBeInstanceOf(BrokerError);
      expect(refused.code).toBe("ERR_BROKER_TLS");
      expect(refused.message).toContain("client certificate");
      const served = await requestBrokerCredential({
        ...base,
        tls: { ca: pki.server.cert, cert: pki.client.cert, key: pki.client.key },
        tokenSource: recordingSource().source,
      });
      expect(served).toEqual({ ok: true });
      expect(received).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});
