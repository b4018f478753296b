import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalIamCredentials, startLocalIamCredentials } from "./iam-credentials.js";
import type { LocalGooglePrincipal } from "./principals.js";

const POOL = "projects/42/locations/global/workloadIdentityPools/trusted-workload-pool";
const DIGEST = "sha256:aaa";
const SA = "decrypter@collab-one.iam.gserviceaccount.com";
const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";

const tokens = new Map<string, LocalGooglePrincipal>();
let now = Date.UTC(2030, 0, 1, 12, 0, 0);
let iam: LocalIamCredentials;

function federated(digest: string, scopes = [CLOUD_PLATFORM]): LocalGooglePrincipal {
  return {
    kind: "federated",
    pool: POOL,
    subject: "tee",
    groups: [],
    attributes: { image_digest: digest },
    audience: `//iam.googleapis.com/${POOL}/providers/attestation-verifier`,
    scopes,
    expiresAt: now + 3_600_000,
  };
}

beforeAll(async () => {
  tokens.set("approved", federated(DIGEST));
  tokens.set("other", federated("sha256:bbb"));
  tokens.set("iam-scope", federated(DIGEST, ["https://www.googleapis.com/auth/iam"]));
  tokens.set("storage-scope", federated(DIGEST, ["https://www.googleapis.com/auth/devstorage.read_only"]));
  iam = await startLocalIamCredentials({
    tokenIssuers: [{ resolveAccessToken: (token) => tokens.get(token) }],
    clock: () => now,
    serviceAccounts: [
      {
        email: SA,
        bindings: [
          {
            role: "roles/iam.workloadIdentityUser",
            members: [`principalSet://iam.googleapis.com/${POOL}/attribute.image_digest/${DIGEST}`],
          },
        ],
      },
    ],
  });
});

afterAll(async () => {
  await iam?.close();
});

async function generate(body: unknown, token?: string, email = SA) {
  const response = await fetch(iam.generateAccessTokenUrl(email), {
    method: "POST",
    headers: { "content-type": "application/json", ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("startLocalIamCredentials generateAccessToken", () => {
  it("mints a service-account token for a federated principal bound as workloadIdentityUser", async () => {
    const result = await generate({ scope: [CLOUD_PLATFORM], lifetime: "1200s" }, "approved");
    expect(result).toEqual({
      status: 200,
      body: { accessToken: expect.stringMatching(/^ya29\.c\.local-/), expireTime: "2030-01-01T12:20:00Z" },
    });
    expect(iam.resolveAccessToken(result.body.accessToken as string)).toEqual({
      kind: "serviceAccount",
      email: SA,
      scopes: [CLOUD_PLATFORM],
      expiresAt: now + 1_200_000,
    });
    expect(iam.requests.at(-1)).toMatchObject({
      serviceAccount: SA,
      status: 200,
      caller: `principal://iam.googleapis.com/${POOL}/subject/tee`,
    });
  });

  it("defaults the lifetime to one hour and accepts a caller token with the iam scope", async () => {
    const result = await generate({ scope: [CLOUD_PLATFORM] }, "iam-scope");
    expect(result.body.expireTime).toBe("2030-01-01T13:00:00Z");
  });

  it.each([
    ["no token", { scope: [CLOUD_PLATFORM] }, undefined, SA, 401, "UNAUTHENTICATED"],
    ["an unknown token", { scope: [CLOUD_PLATFORM] }, "forged", SA, 401, "UNAUTHENTICATED"],
    [
      "a caller token without cloud-platform or iam scope",
      { scope: [CLOUD_PLATFORM] },
      "storage-scope",
      SA,
      403,
      "PERMISSION_DENIED",
    ],
    ["another image's principal", { scope: [CLOUD_PLATFORM] }, "other", SA, 403, "PERMISSION_DENIED"],
    [
      "an unknown service account",
      { scope: [CLOUD_PLATFORM] },
      "approved",
      "nobody@collab-one.iam.gserviceaccount.com",
      403,
      "PERMISSION_DENIED",
    ],
    ["no scope", { lifetime: "3600s" }, "approved", SA, 400, "INVALID_ARGUMENT"],
    [
      "a lifetime over the maximum",
      { scope: [CLOUD_PLATFORM], lifetime: "3601s" },
      "approved",
      SA,
      400,
      "INVALID_ARGUMENT",
    ],
    [
      "a lifetime that is not a duration",
      { scope: [CLOUD_PLATFORM], lifetime: 3600 },
      "approved",
      SA,
      400,
      "INVALID_ARGUMENT",
    ],
    [
      "a delegation chain",
      { scope: [CLOUD_PLATFORM], delegates: ["projects/-/serviceAccounts/x@y.z"] },
      "approved",
      SA,
      400,
      "INVALID_ARGUMENT",
    ],
    ["an unknown field", { scope: [CLOUD_PLATFORM], audience: "x" }, "approved", SA, 400, "INVALID_ARGUMENT"],
  ])("answers %s with Google's error JSON", async (_name, body, token, email, status, googleStatus) => {
    const issuedBefore = iam.issued.size;
    const result = await generate(body, token, email);
    expect(result.status).toBe(status);
    expect(result.body).toEqual({
      error: expect.objectContaining({ code: status, status: googleStatus, message: expect.any(String) }),
    });
    expect(iam.issued.size).toBe(issuedBefore);
  });

  it("failNext answers Google's error JSON (503 UNAVAILABLE by default), recorded without the caller's token", async () => {
    iam.failNext({ status: 503 });
    expect(await generate({ scope: [CLOUD_PLATFORM] }, "approved")).toEqual({
      status: 503,
      body: { error: { code: 503, message: "Injected fault.", status: "UNAVAILABLE" } },
    });
    expect(iam.requests.at(-1)).toMatchObject({
      method: "POST",
      serviceAccount: SA,
      status: 503,
      error: "UNAVAILABLE",
      fault: true,
      headers: { authorization: "[redacted]" },
    });
    expect((await generate({ scope: [CLOUD_PLATFORM] }, "approved")).status).toBe(200);
  });

  it("records a refusal's canonical status as error", async () => {
    await generate({ scope: [CLOUD_PLATFORM] }, "other");
    expect(iam.requests.at(-1)).toMatchObject({ status: 403, error: "PERMISSION_DENIED", fault: false });
  });

  it("says the permission is denied without telling whether the account exists", async () => {
    const missing = await generate(
      { scope: [CLOUD_PLATFORM] },
      "approved",
      "nobody@collab-one.iam.gserviceaccount.com",
    );
    const unbound = await generate({ scope: [CLOUD_PLATFORM] }, "other");
    expect(missing.body).toEqual(unbound.body);
    expect((unbound.body.error as { message: string }).message).toBe(
      "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
    );
  });

  it("stops accepting a caller token once it expires (injected clock)", async () => {
    const saved = now;
    now += 3_600_001;
    try {
      expect((await generate({ scope: [CLOUD_PLATFORM] }, "approved")).status).toBe(401);
    } finally {
      now = saved;
    }
  });
});
