import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { InvalidOptionError } from "@confspace/core";
import { IdentityPoolClient } from "google-auth-library";
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalGoogleSts, startLocalGoogleSts } from "./sts.js";

const PROVIDER =
  "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/confspace-pool/providers/attestation";
const PINNED_PROVIDER =
  "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/confspace-pool/providers/pinned-aud";
const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";
const KID = "local-signer-1";

/** A tiny OIDC issuer on loopback: discovery document and JWKS, one RSA key. */
interface TestIssuer {
  url: string;
  privateKey: CryptoKey;
  discoveryDown: boolean;
  server: Server;
}

async function startIssuer(): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: KID, alg: "RS256", use: "sig" };
  const issuer = { url: "", privateKey, discoveryDown: false } as TestIssuer;
  issuer.server = createServer((req, res) => {
    if (req.url === "/.well-known/openid-configuration" && !issuer.discoveryDown) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ issuer: issuer.url, jwks_uri: `${issuer.url}/jwks` }));
    } else if (req.url === "/jwks") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(req.url === "/.well-known/openid-configuration" ? 503 : 404).end();
    }
  });
  await new Promise<void>((resolve) => issuer.server.listen(0, "127.0.0.1", resolve));
  issuer.url = `http://127.0.0.1:${(issuer.server.address() as AddressInfo).port}`;
  return issuer;
}

let issuer: TestIssuer;
let sts: LocalGoogleSts;

beforeAll(async () => {
  issuer = await startIssuer();
  sts = await startLocalGoogleSts({
    providers: [
      { audience: PROVIDER, issuer: issuer.url },
      {
        audience: PINNED_PROVIDER,
        issuer: `${issuer.url}/pinned`,
        jwksUri: `${issuer.url}/jwks`,
        allowedAudiences: ["https://sts.googleapis.com"],
      },
    ],
  });
});

afterAll(async () => {
  await sts?.close();
  issuer?.server.closeAllConnections();
  await new Promise((resolve) => issuer?.server.close(resolve));
});

interface TokenMutation {
  claims?: Record<string, unknown>;
  key?: CryptoKey;
  alg?: string;
  kid?: string;
}

async function subjectToken(mutation: TokenMutation = {}): Promise<string> {
  const nowS = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: issuer.url,
    aud: `https:${PROVIDER}`,
    sub: "https://www.googleapis.com/compute/v1/projects/p/zones/z/instances/tee-1",
    iat: nowS,
    exp: nowS + 3600,
    ...mutation.claims,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: mutation.alg ?? "RS256", kid: mutation.kid ?? KID, typ: "JWT" })
    .sign(mutation.key ?? issuer.privateKey);
}

async function exchange(fields: Record<string, string | undefined>, url = sts.tokenUrl) {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) body.set(name, value);
  const response = await fetch(url, { method: "POST", body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function goodForm(mutation: TokenMutation = {}): Promise<Record<string, string>> {
  return {
    grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
    audience: PROVIDER,
    scope: CLOUD_PLATFORM,
    requested_token_type: "urn:ietf:params:oauth:token-type:access_token",
    subject_token_type: JWT_TYPE,
    subject_token: await subjectToken(mutation),
  };
}

describe("startLocalGoogleSts with google-auth-library", () => {
  it("IdentityPoolClient exchanges a subject token for the local access token", async () => {
    const requestsBefore = sts.requests.length;
    let supplied = 0;
    const client = new IdentityPoolClient({
      audience: PROVIDER,
      subject_token_type: JWT_TYPE,
      token_url: sts.tokenUrl,
      subject_token_supplier: {
        getSubjectToken: async () => {
          supplied += 1;
          return subjectToken();
        },
      },
    });
    const { token } = await client.getAccessToken();
    expect(token).toMatch(/^ya29\.local-[A-Za-z0-9_-]{43}$/);
    expect(supplied).toBe(1);
    expect(sts.requests.length).toBe(requestsBefore + 1);
    expect(sts.issued.get(token!)).toMatchObject({
      subject: "https://www.googleapis.com/compute/v1/projects/p/zones/z/instances/tee-1",
      audience: PROVIDER,
      scopes: [CLOUD_PLATFORM],
    });
    expect(sts.issued.get(token!)!.expiresAt).toBeGreaterThan(Date.now() + 3_590_000);
  });

  it("IdentityPoolClient surfaces STS's rejection of an expired subject token", async () => {
    const client = new IdentityPoolClient({
      audience: PROVIDER,
      subject_token_type: JWT_TYPE,
      token_url: sts.tokenUrl,
      subject_token_supplier: {
        getSubjectToken: () => subjectToken({ claims: { exp: Math.floor(Date.now() / 1000) - 60 } }),
      },
    });
    await expect(client.getAccessToken()).rejects.toThrow(/invalid_grant: The ID Token expired at \d+/);
  });
});

describe("startLocalGoogleSts token endpoint contract", () => {
  it("answers a known-good exchange with Google's success shape", async () => {
    const { status, body } = await exchange(await goodForm());
    expect(status).toBe(200);
    expect(body).toEqual({
      access_token: expect.stringMatching(/^ya29\.local-/),
      issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
      token_type: "Bearer",
      expires_in: 3600,
    });
  });

  it.each([
    ["the https: form of the provider name", `https:${PROVIDER}`],
    ["the // form of the provider name", PROVIDER],
  ])("accepts a token whose aud is %s when no allowed audiences are configured", async (_name, aud) => {
    expect((await exchange(await goodForm({ claims: { aud } }))).status).toBe(200);
  });

  it("accepts a token for a configured allowed audience, fetching keys from jwksUri", async () => {
    const form = await goodForm({ claims: { iss: `${issuer.url}/pinned`, aud: "https://sts.googleapis.com" } });
    expect((await exchange({ ...form, audience: PINNED_PROVIDER })).status).toBe(200);
  });

  it("rejects the provider name as aud once allowed audiences are configured", async () => {
    const form = await goodForm({ claims: { iss: `${issuer.url}/pinned` } });
    const { status, body } = await exchange({ ...form, audience: PINNED_PROVIDER });
    expect(status).toBe(400);
    expect(body.error_description).toBe(
      `The audience in ID Token [https:${PROVIDER}] does not match the expected audience.`,
    );
  });

  const rows: Array<[string, () => Promise<Record<string, string | undefined>>, string, RegExp]> = [
    [
      "a wrong token audience",
      () => goodForm({ claims: { aud: "https://example.com" } }),
      "invalid_grant",
      /audience in ID Token \[https:\/\/example\.com\]/,
    ],
    [
      "a wrong issuer",
      () => goodForm({ claims: { iss: "https://accounts.example.com" } }),
      "invalid_grant",
      /issuer in ID Token/,
    ],
    [
      "an expired token",
      () => goodForm({ claims: { exp: Math.floor(Date.now() / 1000) - 60 } }),
      "invalid_grant",
      /expired/,
    ],
    ["a token without exp", () => goodForm({ claims: { exp: undefined } }), "invalid_grant", /\[exp\]/],
    [
      "a token not yet valid",
      () => goodForm({ claims: { nbf: Math.floor(Date.now() / 1000) + 600 } }),
      "invalid_grant",
      /not yet valid/,
    ],
    ["a token without sub", () => goodForm({ claims: { sub: undefined } }), "invalid_grant", /\[sub\]/],
    [
      "a signature by another key under the same kid",
      async () => goodForm({ key: (await generateKeyPair("RS256")).privateKey }),
      "invalid_grant",
      /signature/,
    ],
    [
      "a kid the issuer does not publish",
      async () => goodForm({ key: (await generateKeyPair("RS256")).privateKey, kid: "unknown" }),
      "invalid_grant",
      /signature/,
    ],
    [
      "an ES256 token",
      async () => goodForm({ key: (await generateKeyPair("ES256")).privateKey, alg: "ES256" }),
      "invalid_grant",
      /\[ES256\]/,
    ],
    [
      "a subject token that is not a JWT",
      async () => ({ ...(await goodForm()), subject_token: "not.a.jwt" }),
      "invalid_grant",
      /parse/,
    ],
    [
      "a missing subject token",
      async () => ({ ...(await goodForm()), subject_token: undefined }),
      "invalid_request",
      /subject_token/,
    ],
    [
      "the wrong grant_type",
      async () => ({ ...(await goodForm()), grant_type: "client_credentials" }),
      "unsupported_grant_type",
      /grant_type/,
    ],
    [
      "no grant_type",
      async () => ({ ...(await goodForm()), grant_type: undefined }),
      "unsupported_grant_type",
      /grant_type/,
    ],
    [
      "an unknown provider",
      async () => ({ ...(await goodForm()), audience: PROVIDER.replace("attestation", "other-provider") }),
      "invalid_target",
      /^The target service indicated by the "audience" parameters is invalid\./,
    ],
    [
      "an https: audience parameter",
      async () => ({ ...(await goodForm()), audience: `https:${PROVIDER}` }),
      "invalid_request",
      /^Invalid value for "audience"\./,
    ],
    [
      "another requested_token_type",
      async () => ({ ...(await goodForm()), requested_token_type: "urn:ietf:params:oauth:token-type:id_token" }),
      "invalid_request",
      /requested_token_type/,
    ],
    [
      "a SAML subject_token_type",
      async () => ({ ...(await goodForm()), subject_token_type: "urn:ietf:params:oauth:token-type:saml2" }),
      "invalid_request",
      /subject_token_type/,
    ],
    [
      "no scope",
      async () => ({ ...(await goodForm()), scope: undefined }),
      "invalid_request",
      /^Scope\(s\) must be provided\.$/,
    ],
  ];

  it.each(rows)("rejects %s with 400", async (_name, makeForm, error, description) => {
    const issuedBefore = sts.issued.size;
    const result = await exchange(await makeForm());
    expect(result.status).toBe(400);
    expect(Object.keys(result.body).sort()).toEqual(["error", "error_description"]);
    expect(result.body.error).toBe(error);
    expect(result.body.error_description).toMatch(description);
    expect(sts.issued.size).toBe(issuedBefore);
  });

  it("does not cache a failed discovery: the exchange works once the issuer is back", async () => {
    const fresh = await startLocalGoogleSts({ providers: [{ audience: PROVIDER, issuer: issuer.url }] });
    try {
      issuer.discoveryDown = true;
      const down = await exchange(await goodForm(), fresh.tokenUrl);
      expect(down.body).toMatchObject({ error: "invalid_grant", error_description: expect.stringMatching(/JWKS/) });
      issuer.discoveryDown = false;
      expect((await exchange(await goodForm(), fresh.tokenUrl)).status).toBe(200);
    } finally {
      issuer.discoveryDown = false;
      await fresh.close();
    }
  });

  it("judges expiry and dates issued tokens with the injected clock", async () => {
    let now = Date.now();
    const clocked = await startLocalGoogleSts({
      providers: [{ audience: PROVIDER, issuer: issuer.url }],
      tokenLifetimeSeconds: 900,
      clock: () => now,
    });
    try {
      const form = await goodForm();
      const ok = await exchange(form, clocked.tokenUrl);
      expect(ok.body.expires_in).toBe(900);
      expect(clocked.issued.get(ok.body.access_token as string)?.expiresAt).toBe(now + 900_000);
      now += 2 * 3600_000;
      expect((await exchange(form, clocked.tokenUrl)).body.error_description).toMatch(/expired/);
      expect(clocked.requests.map((r) => [r.status, r.error, r.at])).toEqual([
        [200, undefined, now - 2 * 3600_000],
        [400, "invalid_grant", now],
      ]);
    } finally {
      await clocked.close();
    }
  });

  it("records each exchange without a token: method, path, audience, the subject token's jti and iat", async () => {
    const form = await goodForm({ claims: { jti: "attestation-1" } });
    await exchange(form);
    const record = sts.requests.at(-1)!;
    expect(record).toMatchObject({ method: "POST", path: "/v1/token", audience: PROVIDER, status: 200, fault: false });
    expect(record.subjectTokenId).toBe("attestation-1");
    expect(record.subjectIssuedAt).toEqual(expect.any(Number));
    expect(JSON.stringify(sts.requests)).not.toContain(form.subject_token!);
    expect(JSON.stringify(sts.requests)).not.toContain("ya29.");
  });

  it("failNext answers OAuth JSON with the code and message for count requests, then serves again", async () => {
    sts.failNext({ status: 503, count: 2 });
    sts.failNext({ status: 400, code: "invalid_grant", message: "Injected refusal." });
    const form = await goodForm();
    for (let i = 0; i < 2; i++) {
      expect(await exchange(form)).toEqual({
        status: 503,
        body: { error: "temporarily_unavailable", error_description: "Injected fault." },
      });
    }
    expect(await exchange(form)).toEqual({
      status: 400,
      body: { error: "invalid_grant", error_description: "Injected refusal." },
    });
    expect(sts.requests.at(-1)).toMatchObject({ status: 400, error: "invalid_grant", fault: true });
    expect((await exchange(form)).status).toBe(200);
  });

  it("delayNext holds the next exchange back; clearFaults drops what is queued", async () => {
    sts.delayNext(300);
    const started = Date.now();
    expect((await exchange(await goodForm())).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    sts.failNext({ status: 500, count: Number.POSITIVE_INFINITY });
    sts.clearFaults();
    expect((await exchange(await goodForm())).status).toBe(200);
  });

  it.each([
    ["a provider name in https: form", { audience: `https:${PROVIDER}`, issuer: "https://issuer.example" }],
    ["an issuer that is not a URL", { audience: PROVIDER, issuer: "issuer" }],
    [
      "more than 10 allowed audiences",
      { audience: PROVIDER, issuer: "https://i.example", allowedAudiences: Array(11).fill("a") },
    ],
  ])("refuses to start with %s", async (_name, provider) => {
    await expect(startLocalGoogleSts({ providers: [provider] })).rejects.toThrow(InvalidOptionError);
  });
});

describe("startLocalGoogleSts attribute mapping and condition", () => {
  const MAPPED =
    "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/confspace-pool/providers/mapped";
  let mappedSts: LocalGoogleSts;

  beforeAll(async () => {
    mappedSts = await startLocalGoogleSts({
      providers: [
        {
          audience: MAPPED,
          // The issuer URI as Google's instructions write it, with a trailing slash.
          issuer: `${issuer.url}/`,
          attributeMapping:
            "google.subject=assertion.sub,attribute.image_reference=assertion.submods.container.image_reference",
          attributeCondition: "assertion.swname == 'CONFIDENTIAL_SPACE' && int(assertion.swversion[0]) >= 230103",
        },
      ],
    });
  });

  afterAll(async () => {
    await mappedSts?.close();
  });

  const claims = (overrides: Record<string, unknown> = {}) => ({
    aud: `https:${MAPPED}`,
    swname: "CONFIDENTIAL_SPACE",
    swversion: ["250301"],
    submods: { container: { image_reference: "us-docker.pkg.dev/p/r/app@sha256:abc" } },
    ...overrides,
  });

  it("records the mapped subject, attributes and pool with the issued token", async () => {
    const form = await goodForm({ claims: claims() });
    const { status, body } = await exchange({ ...form, audience: MAPPED }, mappedSts.tokenUrl);
    expect(status).toBe(200);
    const token = body.access_token as string;
    expect(mappedSts.issued.get(token)).toMatchObject({
      subject: "https://www.googleapis.com/compute/v1/projects/p/zones/z/instances/tee-1",
      attributes: { image_reference: "us-docker.pkg.dev/p/r/app@sha256:abc" },
      groups: [],
      pool: "projects/123456789012/locations/global/workloadIdentityPools/confspace-pool",
    });
    expect(mappedSts.resolveAccessToken(token)).toMatchObject({ kind: "federated", audience: MAPPED });
    expect(mappedSts.resolveAccessToken("ya29.unknown")).toBeUndefined();
  });

  it.each([
    ["a condition that is false", claims({ swname: "GCE" })],
    ["a CEL error in the condition (swversion as an old-style number)", claims({ swversion: 1 })],
  ])("rejects %s with unauthorized_client and issues nothing", async (_name, tokenClaims) => {
    const issuedBefore = mappedSts.issued.size;
    const form = await goodForm({ claims: tokenClaims });
    const { status, body } = await exchange({ ...form, audience: MAPPED }, mappedSts.tokenUrl);
    expect(status).toBe(400);
    expect(body).toEqual({
      error: "unauthorized_client",
      error_description: "The given credential is rejected by the attribute condition.",
    });
    expect(mappedSts.issued.size).toBe(issuedBefore);
  });

  it.each([
    ["a mapping without google.subject", { attributeMapping: "attribute.x=assertion.x" }],
    ["a condition that is not CEL", { attributeCondition: "assertion.swname ==" }],
  ])("refuses to start with %s", async (_name, rules) => {
    await expect(
      startLocalGoogleSts({ providers: [{ audience: MAPPED, issuer: issuer.url, ...rules }] }),
    ).rejects.toThrow(InvalidOptionError);
  });
});
