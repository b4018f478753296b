import { rename, writeFile } from "node:fs/promises";
import { inspect } from "node:util";
import { CredentialUnavailableError } from "@confspace/core";
import { KeyManagementServiceClient } from "@google-cloud/kms";
import { GoogleAuth, IdentityPoolClient, OAuth2Client } from "google-auth-library";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalGoogle, startLocalGoogle } from "../test/local-google.js";
import { GcpFederationError, GoogleApiError } from "./errors.js";
import { createFederatedAuthClient, type FederatedAuthClientOptions } from "./federated-auth-client.js";
import { toGoogleApiError } from "./google-api-error.js";

let world: LocalGoogle;

beforeAll(async () => {
  world = await startLocalGoogle();
});

afterAll(async () => {
  await world?.stop();
});

function federated(options: Partial<FederatedAuthClientOptions> = {}) {
  return createFederatedAuthClient({
    audience: world.one.audience,
    tokenUrl: world.sts.tokenUrl,
    tokenFile: world.emulator.tokenFile,
    launcher: { socketPath: world.emulator.socketPath },
    ...options,
  });
}

function kmsClient(authClient: OAuth2Client | ReturnType<typeof federated>) {
  return new KeyManagementServiceClient({ ...world.kms.clientOptions, authClient });
}

/** The collaborator encrypting with its own (user) credentials, through the official client. */
async function encryptAs(who: LocalGoogle["one"], text: string): Promise<Uint8Array> {
  const owner = new OAuth2Client();
  owner.setCredentials({ access_token: who.userToken });
  const [response] = await kmsClient(owner).encrypt({ name: who.keyName, plaintext: Buffer.from(text) });
  return response.ciphertext as Uint8Array;
}

describe("FederatedAuthClient with the official @google-cloud/kms client (REST transport)", () => {
  it("exchanges the launcher's default token at STS and decrypts as the approved image's principalSet", async () => {
    const ciphertext = await encryptAs(world.one, "meet at noon");
    const client = federated();
    const callsBefore = world.sts.requests.length;
    const [result] = await kmsClient(client).decrypt({ name: world.one.keyName, ciphertext });
    expect(Buffer.from(result.plaintext as Uint8Array).toString()).toBe("meet at noon");
    expect(result.protectionLevel).toBe("SOFTWARE");
    const exchange = world.sts.requests.slice(callsBefore);
    expect(exchange).toEqual([expect.objectContaining({ audience: world.one.audience, status: 200 })]);
    const { token } = await client.getAccessToken();
    expect(world.sts.issued.get(token!)).toMatchObject({
      pool: world.one.pool,
      attributes: { image_reference: world.image.reference, image_digest: world.image.digest },
      scopes: ["https://www.googleapis.com/auth/cloud-platform"],
    });
    expect(world.kms.requests.at(-1)).toMatchObject({
      operation: "decrypt",
      status: 200,
      caller: expect.stringContaining(world.one.pool),
    });
  });

  it("works as authClient of GoogleAuth (one google-auth-library copy: instanceof holds)", async () => {
    const client = federated();
    const auth = new GoogleAuth({ authClient: client });
    expect(await auth.getClient()).toBe(client);
    expect(client).toBeInstanceOf(IdentityPoolClient);
    expect((await auth.getRequestHeaders()).get("authorization")).toMatch(/^Bearer ya29\.local-/);
  });

  it("reuses the federated token across calls: one STS exchange for many KMS calls", async () => {
    const ciphertext = await encryptAs(world.one, "x");
    const client = federated();
    const kms = kmsClient(client);
    const before = world.sts.requests.length;
    await Promise.all(Array.from({ length: 5 }, () => kms.decrypt({ name: world.one.keyName, ciphertext })));
    await kms.decrypt({ name: world.one.keyName, ciphertext });
    expect(world.sts.requests.length - before).toBe(1);
  });

  it("sends the quota project as x-goog-user-project", async () => {
    const client = federated({ quotaProjectId: "operator-billing" });
    await kmsClient(client).decrypt({ name: world.one.keyName, ciphertext: await encryptAs(world.one, "q") });
    expect(world.kms.requests.at(-1)).toMatchObject({ status: 200, quotaProject: "operator-billing" });
  });

  it("impersonates a service account through IAM Credentials when serviceAccount is set", async () => {
    const client = federated({
      serviceAccount: world.one.serviceAccount,
      serviceAccountTokenLifetimeSeconds: 1200,
      iamCredentialsEndpoint: world.iam.endpoint,
    });
    const [result] = await kmsClient(client).decrypt({
      name: world.one.keyName,
      ciphertext: await encryptAs(world.one, "sa"),
    });
    expect(Buffer.from(result.plaintext as Uint8Array).toString()).toBe("sa");
    expect(world.iam.requests.at(-1)).toMatchObject({
      serviceAccount: world.one.serviceAccount,
      status: 200,
      caller: expect.stringContaining(world.one.pool),
    });
    expect(world.kms.requests.at(-1)).toMatchObject({ caller: `serviceAccount:${world.one.serviceAccount}` });
    const { token } = await client.getAccessToken();
    const issued = world.iam.issued.get(token!);
    expect(issued?.expiresAt).toBeGreaterThan(Date.now() + 1_190_000);
    expect(issued?.expiresAt).toBeLessThanOrEqual(Date.now() + 1_200_000);
  });

  it("reports a refused impersonation as GcpFederationError (stage impersonation, PERMISSION_DENIED)", async () => {
    // Collaborator one's pool is not bound on collaborator two's service account.
    const client = federated({ serviceAccount: world.two.serviceAccount, iamCredentialsEndpoint: world.iam.endpoint });
    const error = await client.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GcpFederationError);
    expect(error).toMatchObject({
      code: "ERR_GCP_IMPERSONATION",
      stage: "impersonation",
      status: 403,
      reason: "PERMISSION_DENIED",
      retryable: false,
      serviceAccount: world.two.serviceAccount,
      description: "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
    });
    expect((error as Error).message).toMatch(/roles\/iam\.workloadIdentityUser/);
    expect(inspect(error, { depth: 8 })).not.toMatch(/ya29\.local-/);
  });

  it("surfaces STS's refusal as GcpFederationError keeping Google's error code, directly and through KMS", async () => {
    // A token from a debug image fails the condition ('STABLE' in support_attributes is a CEL error).
    const debugToken = await world.emulator.mintToken({
      mutateClaims: (claims) => {
        claims.dbgstat = "enabled";
        delete (claims.submods as { confidential_space: Record<string, unknown> }).confidential_space
          .support_attributes;
      },
    });
    const client = federated({
      tokenSource: { getToken: async () => debugToken },
      tokenFile: undefined,
      launcher: undefined,
    });
    const direct = await client.getAccessToken().catch((e: unknown) => e);
    expect(direct).toBeInstanceOf(GcpFederationError);
    expect(direct).toMatchObject({
      code: "ERR_GCP_STS",
      stage: "sts",
      status: 400,
      reason: "unauthorized_client",
      description: "The given credential is rejected by the attribute condition.",
      retryable: false,
    });
    expect((direct as Error).message).not.toContain(debugToken);
    // The failed request kept by google-auth-library (our cause) no longer holds the attestation token.
    expect(inspect(direct, { depth: 10 })).not.toContain(debugToken.split(".")[2]);

    const viaKms = await kmsClient(client)
      .decrypt({ name: world.one.keyName, ciphertext: await encryptAs(world.one, "no") })
      .catch((e: unknown) => e);
    const typed = toGoogleApiError(viaKms);
    expect(typed).toBeInstanceOf(GcpFederationError);
    expect(typed).toMatchObject({ reason: "unauthorized_client", status: 400 });
  });

  it("surfaces KMS's refusal as GoogleApiError with PERMISSION_DENIED and its ErrorInfo", async () => {
    // Collaborator one's federated token on collaborator two's key.
    const error = await kmsClient(federated())
      .decrypt({ name: world.two.keyName, ciphertext: await encryptAs(world.two, "secret") })
      .catch((e: unknown) => e);
    const typed = toGoogleApiError(error);
    expect(typed).toBeInstanceOf(GoogleApiError);
    expect(typed).toMatchObject({
      code: "ERR_GOOGLE_API",
      status: 403,
      reason: "PERMISSION_DENIED",
      grpcCode: 7,
      errorInfo: {
        reason: "IAM_PERMISSION_DENIED",
        domain: "cloudkms.googleapis.com",
        metadata: { permission: "cloudkms.cryptoKeyVersions.useToDecrypt", resource: world.two.keyName },
      },
    });
    expect((typed as GoogleApiError).description).toMatch(
      /^Permission 'cloudkms\.cryptoKeyVersions\.useToDecrypt' denied/,
    );
  });

  it("surfaces a decrypt with the wrong key as INVALID_ARGUMENT", async () => {
    const client = federated({
      serviceAccount: world.two.serviceAccount,
      iamCredentialsEndpoint: world.iam.endpoint,
      audience: world.two.audience,
    });
    const error = await kmsClient(client)
      .decrypt({ name: world.two.keyName, ciphertext: await encryptAs(world.one, "for one") })
      .catch((e: unknown) => e);
    expect(toGoogleApiError(error)).toMatchObject({ reason: "INVALID_ARGUMENT", status: 400, grpcCode: 3 });
  });
});

describe("two collaborators at once", () => {
  it("keeps one cache per client: concurrent calls never carry one collaborator's token to the other's key", async () => {
    const clientOne = federated({ audience: world.one.audience });
    const clientTwo = federated({ audience: world.two.audience });
    const kmsOne = kmsClient(clientOne);
    const kmsTwo = kmsClient(clientTwo);
    const [c1, c2] = await Promise.all([encryptAs(world.one, "one"), encryptAs(world.two, "two")]);
    const requestsBefore = world.kms.requests.length;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? kmsOne
              .decrypt({ name: world.one.keyName, ciphertext: c1 })
              .then(([r]) => ["one", Buffer.from(r.plaintext as Uint8Array).toString()])
          : kmsTwo
              .decrypt({ name: world.two.keyName, ciphertext: c2 })
              .then(([r]) => ["two", Buffer.from(r.plaintext as Uint8Array).toString()]),
      ),
    );
    for (const [who, text] of results) expect(text).toBe(who);
    const requests = world.kms.requests.slice(requestsBefore);
    expect(requests).toHaveLength(20);
    for (const request of requests) {
      const owner = request.name === world.one.keyName ? world.one : world.two;
      expect(request.status).toBe(200);
      expect(request.caller).toContain(`${owner.pool}/subject/`);
    }
    const [tokenOne, tokenTwo] = [(await clientOne.getAccessToken()).token!, (await clientTwo.getAccessToken()).token!];
    expect(tokenOne).not.toBe(tokenTwo);
    expect(world.sts.issued.get(tokenOne)?.pool).toBe(world.one.pool);
    expect(world.sts.issued.get(tokenTwo)?.pool).toBe(world.two.pool);
  });
});

describe("attestation token supply", () => {
  it("reports a missing token file and launcher as a non-retryable subject-token error, fast through KMS", async () => {
    const client = federated({
      tokenFile: "/nonexistent/confspace/token",
      launcher: { socketPath: "/nonexistent/confspace.sock", retry: { maxAttempts: 1 } },
    });
    const error = await client.getAccessToken().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "ERR_GCP_SUBJECT_TOKEN",
      stage: "subject-token",
      reason: "ERR_ATTESTATION_UNAVAILABLE",
      status: 401,
      retryable: false,
    });
    expect((error as Error).cause).toBeInstanceOf(CredentialUnavailableError);
    const started = Date.now();
    const viaKms = await kmsClient(client)
      .decrypt({ name: world.one.keyName, ciphertext: Buffer.from("x") })
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000); // not retried as UNAVAILABLE for minutes
    expect(toGoogleApiError(viaKms)).toMatchObject({
      code: "ERR_GCP_SUBJECT_TOKEN",
      reason: "ERR_ATTESTATION_UNAVAILABLE",
    });
  });

  it("never sends a partly written token file; the KMS call succeeds once the launcher finishes writing", async () => {
    const dir = world.emulator.tokenFile.replace(/[^/]+$/, "");
    const file = `${dir}partial-token`;
    const good = await world.emulator.mintToken();
    await writeFile(file, good.slice(0, 40));
    const client = federated({
      tokenFile: file,
      launcher: { socketPath: "/nonexistent/confspace.sock", retry: { maxAttempts: 1 } },
    });
    const direct = await client.getAccessToken().catch((e: unknown) => e);
    expect(direct).toMatchObject({
      code: "ERR_GCP_SUBJECT_TOKEN",
      reason: "ERR_TOKEN_FILE_INVALID",
      status: 503,
      retryable: true,
    });
    const callsBefore = world.sts.requests.length;
    const pending = kmsClient(client).decrypt({
      name: world.one.keyName,
      ciphertext: await encryptAs(world.one, "late"),
    });
    setTimeout(() => {
      // As the launcher does: write elsewhere, then rename over the file.
      void writeFile(`${file}.tmp`, good).then(() => rename(`${file}.tmp`, file));
    }, 400);
    const [result] = await pending;
    expect(Buffer.from(result.plaintext as Uint8Array).toString()).toBe("late");
    // Nothing but complete tokens ever reached STS.
    expect(world.sts.requests.slice(callsBefore).every((call) => call.status === 200)).toBe(true);
  });

  it("refuses an expired token from an injected source without calling STS", async () => {
    const expired = await world.emulator.mintToken({
      issuedAt: Math.floor(Date.now() / 1000) - 7200,
      lifetimeSeconds: 3600,
    });
    const client = federated({
      tokenSource: { getToken: async () => expired },
      tokenFile: undefined,
      launcher: undefined,
    });
    const before = world.sts.requests.length;
    const error = await client.getAccessToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_GCP_SUBJECT_TOKEN", reason: "ERR_TOKEN_EXPIRED" });
    expect(world.sts.requests.length).toBe(before);
  });

  it("uses a custom-audience token from the launcher when tokenAudience is set", async () => {
    const audience = `https:${world.one.audience}`;
    const custom = await startLocalGoogle({}); // a provider configured without allowed audiences
    try {
      const sts = await (await import("@confspace/testing")).startLocalGoogleSts({
        providers: [{ audience: world.one.audience, issuer: custom.emulator.issuer }],
      });
      try {
        const client = createFederatedAuthClient({
          audience: world.one.audience,
          tokenUrl: sts.tokenUrl,
          tokenAudience: audience,
          launcher: { socketPath: custom.emulator.socketPath },
        });
        const { token } = await client.getAccessToken();
        expect(sts.issued.get(token!)).toMatchObject({ audience: world.one.audience });
        expect(() => client.toCredentialConfig()).toThrow(/subjectTokenFile/);
        client.dispose();
        // The default token (aud https://sts.googleapis.com) is refused by that provider.
        const fallback = createFederatedAuthClient({
          audience: world.one.audience,
          tokenUrl: sts.tokenUrl,
          tokenFile: custom.emulator.tokenFile,
        });
        await expect(fallback.getAccessToken()).rejects.toMatchObject({ reason: "invalid_grant", status: 400 });
      } finally {
        await sts.close();
      }
    } finally {
      await custom.stop();
    }
  });
});

describe("toCredentialConfig", () => {
  it("gives a configuration google-auth-library's own file-sourced client exchanges the same way", async () => {
    const client = federated({ serviceAccount: world.one.serviceAccount, iamCredentialsEndpoint: world.iam.endpoint });
    const config = client.toCredentialConfig();
    expect(config).toEqual({
      type: "external_account",
      audience: world.one.audience,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: world.sts.tokenUrl,
      credential_source: { file: world.emulator.tokenFile },
      service_account_impersonation_url: world.iam.generateAccessTokenUrl(world.one.serviceAccount),
    });
    const fromFile = new IdentityPoolClient(config);
    const [result] = await new KeyManagementServiceClient({ ...world.kms.clientOptions, authClient: fromFile }).decrypt(
      {
        name: world.one.keyName,
        ciphertext: await encryptAs(world.one, "same"),
      },
    );
    expect(Buffer.from(result.plaintext as Uint8Array).toString()).toBe("same");
  });
});
