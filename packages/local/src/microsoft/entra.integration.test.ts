import { createHash, randomUUID, X509Certificate } from "node:crypto";
import { AuthenticationRequiredError, ClientCertificateCredential, ClientSecretCredential } from "@azure/identity";
import { InvalidOptionError } from "@confspace/core";
import {
  createLocalJWKSet,
  decodeJwt,
  generateKeyPair,
  importPKCS8,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, type TestPki, trustCaInProcess } from "../tls.js";
import { type LocalEntra, startLocalEntra } from "./entra.js";

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const SECRET_CLIENT = "11111111-2222-3333-4444-555555555555";
const CERT_CLIENT = "66666666-7777-8888-9999-000000000000";
const SECRET = "local~secret.value-that-must-never-be-recorded";
const STORAGE_SCOPE = "https://storage.azure.com/.default";

let pki: TestPki;
let untrust: () => void;
let entra: LocalEntra;

beforeAll(async () => {
  pki = await createTestPki();
  untrust = trustCaInProcess(pki.caPem);
  entra = await startLocalEntra({
    tenantId: TENANT,
    clients: [
      { clientId: SECRET_CLIENT, clientSecret: SECRET },
      { clientId: CERT_CLIENT, certificatePem: pki.clientCertPem },
    ],
    tls: { cert: pki.serverCertPem, key: pki.serverKeyPem },
  });
});

afterAll(async () => {
  await entra?.close();
  untrust?.();
  await pki?.cleanup();
});

const credentialOptions = () => ({ authorityHost: entra.authorityHost, disableInstanceDiscovery: true });
const tokenUrl = (tenant = TENANT) => `${entra.authorityHost}/${tenant}/oauth2/v2.0/token`;

async function postToken(fields: Record<string, string>, url = tokenUrl()) {
  const response = await fetch(url, { method: "POST", body: new URLSearchParams(fields) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function verifyWithServerKeys(token: string): Promise<JWTPayload> {
  const jwks = (await (await fetch(`${entra.authorityHost}/${TENANT}/discovery/v2.0/keys`)).json()) as JSONWebKeySet;
  return (await jwtVerify(token, createLocalJWKSet(jwks), { algorithms: ["RS256"] })).payload;
}

describe("startLocalEntra with @azure/identity", () => {
  it("ClientSecretCredential gets a v1 token for the storage resource, signed by the published key", async () => {
    const before = Date.now();
    const credential = new ClientSecretCredential(TENANT, SECRET_CLIENT, SECRET, credentialOptions());
    const token = await credential.getToken(STORAGE_SCOPE);
    const claims = await verifyWithServerKeys(token.token);
    expect(claims).toMatchObject({
      iss: `https://sts.windows.net/${TENANT}/`,
      aud: "https://storage.azure.com",
      appid: SECRET_CLIENT,
      azp: SECRET_CLIENT,
      appidacr: "1",
      tid: TENANT,
      ver: "1.0",
    });
    expect(typeof claims.aud).toBe("string");
    expect(claims.oid).toBe(claims.sub);
    expect(claims.nbf).toBeLessThanOrEqual(Math.floor(before / 1000));
    expect(token.expiresOnTimestamp).toBeGreaterThanOrEqual(before + 3_590_000);
    expect(token.refreshAfterTimestamp).toBeUndefined();
    expect(entra.requests.map((r) => r.path)).toContain(`/${TENANT}/v2.0/.well-known/openid-configuration`);
  });

  // @azure/identity 4.14 wraps MSAL's ServerError for a rejected client credential in an
  // AuthenticationRequiredError (not AuthenticationError); the server's answer is on `cause`.
  it("ClientSecretCredential with a wrong secret throws, carrying the server's 401 invalid_client", async () => {
    const credential = new ClientSecretCredential(TENANT, SECRET_CLIENT, "not-the-secret", credentialOptions());
    const error = await credential.getToken(STORAGE_SCOPE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationRequiredError);
    expect((error as Error).message).toContain("AADSTS7000215");
    expect((error as Error).cause).toMatchObject({ errorCode: "invalid_client", errorNo: 7000215, status: 401 });
  });

  it("ClientCertificateCredential with a PEM of certificate and key gets a token (appidacr 2)", async () => {
    const pem = `${pki.clientCertPem}\n${pki.clientKeyPem}`;
    const credential = new ClientCertificateCredential(TENANT, CERT_CLIENT, { certificate: pem }, credentialOptions());
    const token = await credential.getToken(STORAGE_SCOPE);
    const claims = await verifyWithServerKeys(token.token);
    expect(claims).toMatchObject({ appid: CERT_CLIENT, appidacr: "2", aud: "https://storage.azure.com" });
  });

  it("sends refresh_in when refreshInSeconds is set, which becomes refreshAfterTimestamp", async () => {
    const withRefresh = await startLocalEntra({
      tenantId: TENANT,
      clients: [{ clientId: SECRET_CLIENT, clientSecret: SECRET }],
      tokenLifetimeSeconds: 7200,
      refreshInSeconds: 3600,
      tls: { cert: pki.serverCertPem, key: pki.serverKeyPem },
    });
    try {
      const raw = await fetch(`${withRefresh.authorityHost}/${TENANT}/oauth2/v2.0/token`, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: SECRET_CLIENT,
          client_secret: SECRET,
          scope: STORAGE_SCOPE,
        }),
      });
      expect(await raw.json()).toMatchObject({ token_type: "Bearer", expires_in: 7200, refresh_in: 3600 });

      const before = Date.now();
      const credential = new ClientSecretCredential(TENANT, SECRET_CLIENT, SECRET, {
        authorityHost: withRefresh.authorityHost,
        disableInstanceDiscovery: true,
      });
      const token = await credential.getToken(STORAGE_SCOPE);
      expect(token.refreshAfterTimestamp).toBeGreaterThanOrEqual(before + 3_590_000);
      expect(token.refreshAfterTimestamp).toBeLessThan(token.expiresOnTimestamp);
    } finally {
      await withRefresh.close();
    }
  });
});

describe("startLocalEntra token endpoint contract", () => {
  const goodSecretForm = {
    grant_type: "client_credentials",
    client_id: SECRET_CLIENT,
    client_secret: SECRET,
    scope: STORAGE_SCOPE,
  };

  it("accepts the known-good secret form and answers Entra's success shape", async () => {
    const { status, body } = await postToken(goodSecretForm);
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "ext_expires_in", "token_type"]);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 3600, ext_expires_in: 3600 });
  });

  it.each([
    ["unknown tenant", { url: "other-tenant" }, 400, "invalid_request", 90002],
    ["unknown client", { client_id: "00000000-0000-0000-0000-00000000dead" }, 400, "unauthorized_client", 700016],
    ["wrong secret", { client_secret: "wrong" }, 401, "invalid_client", 7000215],
    ["missing secret and assertion", { client_secret: undefined }, 401, "invalid_client", 7000218],
    ["scope without /.default", { scope: "https://storage.azure.com/user_impersonation" }, 400, "invalid_scope", 70011],
    ["two resources", { scope: `${STORAGE_SCOPE} https://vault.azure.net/.default` }, 400, "invalid_scope", 70011],
    ["bare /.default", { scope: "/.default" }, 400, "invalid_scope", 70011],
    ["missing scope", { scope: undefined }, 400, "invalid_request", 900144],
    ["other grant type", { grant_type: "password" }, 400, "unsupported_grant_type", 70003],
    ["missing grant type", { grant_type: undefined }, 400, "invalid_request", 900144],
  ] as const)("rejects %s", async (_name, mutation, status, error, code) => {
    const fields: Record<string, string> = { ...goodSecretForm };
    let url = tokenUrl();
    for (const [key, value] of Object.entries(mutation)) {
      if (key === "url") url = tokenUrl(value as string);
      else if (value === undefined) delete fields[key];
      else fields[key] = value as string;
    }
    const result = await postToken(fields, url);
    expect(result.status).toBe(status);
    expect(result.body.error).toBe(error);
    expect(result.body.error_codes).toEqual([code]);
    expect(result.body.error_description).toMatch(new RegExp(`^AADSTS${code}: `));
  });

  it("error bodies carry Entra's fields, echoing client-request-id as correlation id", async () => {
    const correlation = randomUUID();
    const { body } = await postToken(
      { ...goodSecretForm, client_secret: "wrong" },
      `${tokenUrl()}?client-request-id=${correlation}`,
    );
    expect(Object.keys(body).sort()).toEqual([
      "correlation_id",
      "error",
      "error_codes",
      "error_description",
      "timestamp",
      "trace_id",
    ]);
    expect(body.correlation_id).toBe(correlation);
    expect(body.error_description).toContain(`Correlation ID: ${correlation}`);
    expect(body.error_description).not.toContain("wrong");
  });

  it("failNext answers the next token request with a verbatim body, then serves normally", async () => {
    entra.failNext({ status: 503, body: { error: "temporarily_unavailable" } });
    expect(await postToken(goodSecretForm)).toEqual({ status: 503, body: { error: "temporarily_unavailable" } });
    expect(entra.requests.at(-1)).toMatchObject({ status: 503, fault: true });
    expect((await postToken(goodSecretForm)).status).toBe(200);
    expect(entra.requests.at(-1)).toMatchObject({ status: 200, fault: false, error: undefined });
  });

  it("failNext without a body answers Entra's error JSON with the code and message, for count requests", async () => {
    entra.failNext({ status: 429, message: "Too many requests.", count: 2, headers: { "retry-after": "3" } });
    for (let i = 0; i < 2; i++) {
      const { status, body } = await postToken(goodSecretForm);
      expect(status).toBe(429);
      expect(body).toMatchObject({ error: "temporarily_unavailable", error_codes: [50000] });
      expect((body as { error_description: string }).error_description).toMatch(/^AADSTS50000: Too many requests\./);
    }
    expect(entra.requests.at(-1)).toMatchObject({ status: 429, error: "temporarily_unavailable", fault: true });
    expect((await postToken(goodSecretForm)).status).toBe(200);
  });

  it("faults and delays reach the token endpoint only: discovery stays up", async () => {
    entra.failNext({ status: 503 });
    entra.delayNext(300);
    const discovery = await fetch(`${entra.authorityHost}/${TENANT}/v2.0/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    const started = Date.now();
    expect((await postToken(goodSecretForm)).status).toBe(503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    entra.failNext({ status: 503 });
    entra.clearFaults();
    expect((await postToken(goodSecretForm)).status).toBe(200);
  });

  it("counts token requests and records them without secrets or assertions", async () => {
    const before = entra.tokenRequests;
    await postToken(goodSecretForm);
    await postToken({ ...goodSecretForm, client_secret: "wrong-secret-value" });
    expect(entra.tokenRequests).toBe(before + 2);
    expect(entra.requests.at(-1)).toMatchObject({
      method: "POST",
      path: `/${TENANT}/oauth2/v2.0/token`,
      status: 401,
      error: "invalid_client",
      fault: false,
      grantType: "client_credentials",
      clientId: SECRET_CLIENT,
      scope: STORAGE_SCOPE,
    });
    expect(entra.requests.at(-1)!.headers["content-type"]).toMatch(/^application\/x-www-form-urlencoded/);
    const recorded = JSON.stringify(entra.requests);
    expect(recorded).not.toContain(SECRET);
    expect(recorded).not.toContain("wrong-secret-value");
    expect(recorded).not.toContain("eyJ");
  });
});

describe("startLocalEntra certificate assertions", () => {
  interface AssertionMutation {
    alg?: "PS256" | "RS256" | "ES256";
    header?: Record<string, unknown>;
    claims?: Record<string, unknown>;
    otherKey?: boolean;
    assertionType?: string;
    raw?: string;
  }

  const thumbprint = (algorithm: "sha1" | "sha256") =>
    createHash(algorithm).update(new X509Certificate(pki.clientCertPem).raw).digest("base64url");

  async function assertion(mutation: AssertionMutation = {}): Promise<string> {
    if (mutation.raw !== undefined) return mutation.raw;
    const alg = mutation.alg ?? "PS256";
    const key =
      alg === "ES256"
        ? (await generateKeyPair("ES256")).privateKey
        : mutation.otherKey
          ? (await generateKeyPair(alg)).privateKey
          : await importPKCS8(pki.clientKeyPem, alg);
    const nowS = Math.floor(Date.now() / 1000);
    const thumb = alg === "RS256" ? { x5t: thumbprint("sha1") } : { "x5t#S256": thumbprint("sha256") };
    const claims: Record<string, unknown> = {
      aud: tokenUrl(),
      iss: CERT_CLIENT,
      sub: CERT_CLIENT,
      jti: randomUUID(),
      nbf: nowS,
      exp: nowS + 600,
      ...mutation.claims,
    };
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    return new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT", ...thumb, ...mutation.header }).sign(key);
  }

  async function postAssertion(mutation: AssertionMutation = {}) {
    return postToken({
      grant_type: "client_credentials",
      client_id: CERT_CLIENT,
      scope: STORAGE_SCOPE,
      client_assertion_type: mutation.assertionType ?? "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: await assertion(mutation),
    });
  }

  it.each([
    ["PS256 with x5t#S256", {}],
    ["RS256 with x5t (SHA-1)", { alg: "RS256" }],
  ] as const)("accepts a well-formed assertion: %s", async (_name, mutation) => {
    const { status, body } = await postAssertion(mutation);
    expect(status).toBe(200);
    expect(decodeJwt(body.access_token as string)).toMatchObject({ appid: CERT_CLIENT, appidacr: "2" });
  });

  it.each<[string, AssertionMutation, number]>([
    ["signed by another key", { otherKey: true }, 700027],
    [
      "another certificate's thumbprint",
      { header: { "x5t#S256": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } },
      700027,
    ],
    ["no thumbprint header", { header: { "x5t#S256": undefined } }, 700027],
    ["an unsupported algorithm", { alg: "ES256" }, 700027],
    [
      "aud other than the token endpoint",
      { claims: { aud: "https://login.microsoftonline.com/x/oauth2/v2.0/token" } },
      700027,
    ],
    ["iss other than the client id", { claims: { iss: SECRET_CLIENT } }, 700027],
    ["sub other than the client id", { claims: { sub: SECRET_CLIENT } }, 700027],
    ["no jti", { claims: { jti: undefined } }, 700027],
    ["no exp", { claims: { exp: undefined } }, 700027],
    ["exp an hour ago", { claims: { exp: Math.floor(Date.now() / 1000) - 3600 } }, 700024],
    ["the wrong assertion type", { assertionType: "urn:ietf:params:oauth:client-assertion-type:saml2-bearer" }, 700027],
    ["something that is not a JWT", { raw: "not-a-jwt" }, 700027],
  ])("rejects an assertion with %s as 401 invalid_client", async (_name, mutation, code) => {
    const { status, body } = await postAssertion(mutation);
    expect(status).toBe(401);
    expect(body.error).toBe("invalid_client");
    expect(body.error_codes).toEqual([code]);
  });

  it("rejects a client secret for a client registered with a certificate only", async () => {
    const { status, body } = await postToken({
      grant_type: "client_credentials",
      client_id: CERT_CLIENT,
      client_secret: "anything",
      scope: STORAGE_SCOPE,
    });
    expect(status).toBe(401);
    expect(body.error_codes).toEqual([7000215]);
  });
});

describe("startLocalEntra clock and options", () => {
  it("dates issued tokens from the injected clock (iat and nbf backdated five minutes, as Entra does)", async () => {
    const now = Date.UTC(2030, 0, 1, 12, 0, 0);
    const clocked = await startLocalEntra({
      tenantId: TENANT,
      clients: [{ clientId: SECRET_CLIENT, clientSecret: SECRET }],
      tokenLifetimeSeconds: 600,
      clock: () => now,
      tls: { cert: pki.serverCertPem, key: pki.serverKeyPem },
    });
    try {
      const response = await fetch(`${clocked.authorityHost}/${TENANT}/oauth2/v2.0/token`, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: SECRET_CLIENT,
          client_secret: SECRET,
          scope: "api://confspace-broker/.default",
        }),
      });
      const body = (await response.json()) as { access_token: string; expires_in: number };
      expect(body.expires_in).toBe(600);
      expect(decodeJwt(body.access_token)).toMatchObject({
        aud: "api://confspace-broker",
        iat: now / 1000 - 300,
        nbf: now / 1000 - 300,
        exp: now / 1000 + 600,
      });
    } finally {
      await clocked.close();
    }
  });

  it.each([
    ["a client without secret or certificate", { clients: [{ clientId: "c" }] }],
    ["a non-RSA certificate", { clients: [{ clientId: "c", certificatePem: "server" }] }],
    ["no TLS key", { tls: { cert: "x", key: "" } }],
  ])("refuses to start with %s", async (_name, override) => {
    const options = {
      tenantId: TENANT,
      clients: [{ clientId: SECRET_CLIENT, clientSecret: SECRET }],
      tls: { cert: pki.serverCertPem, key: pki.serverKeyPem },
      ...override,
    };
    for (const client of options.clients as Array<{ certificatePem?: string }>) {
      if (client.certificatePem === "server") client.certificatePem = pki.serverCertPem;
    }
    await expect(startLocalEntra(options)).rejects.toThrow(InvalidOptionError);
  });
});
