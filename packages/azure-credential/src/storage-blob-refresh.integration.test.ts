import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AzureStack, startAzureStack } from "../test/stack.js";

// Real expiry needs real time: Entra tokens live 8 s and attestation tokens 10 s, so a
// 20-second run crosses several token lifetimes.
const ENTRA_LIFETIME_S = 8;
const RUN_MS = 20_000;

describe("short-lived tokens through @azure/storage-blob", () => {
  let stack: AzureStack;

  beforeAll(async () => {
    stack = await startAzureStack({
      azurite: true,
      entraTokenLifetimeSeconds: ENTRA_LIFETIME_S,
      attestationTokenLifetimeSeconds: 10,
    });
  });
  afterAll(() => stack?.stop());

  it("keeps working across several expiries with exactly one broker call per refresh", {
    timeout: 60_000,
  }, async () => {
    const fetched: string[] = [];
    const logger = {
      debug() {},
      info(message: string, fields?: Record<string, unknown>) {
        if (message === "Azure access token obtained from the token broker") fetched.push(String(fields?.expiresOn));
      },
      warn() {},
      error() {},
    };
    const credential = stack.credential({ logger });
    // What the SDK clients were handed, to prove they moved on to new tokens.
    const handedOut = new Map<string, AccessToken>();
    const observed: TokenCredential = {
      getToken: async (scopes, options) => {
        const token = await credential.getToken(scopes, options);
        handedOut.set(token.token, token);
        return token;
      },
    };
    const clients = [
      new BlobServiceClient(stack.azurite!.accountUrl, observed),
      new BlobServiceClient(stack.azurite!.accountUrl, observed),
    ];
    const before = stack.brokerRequests();
    await clients[0]!.getContainerClient("refresh").createIfNotExists();
    const started = Date.now();
    let operations = 0;
    while (Date.now() - started < RUN_MS) {
      const client = clients[operations % 2]!;
      const blob = client.getContainerClient("refresh").getBlockBlobClient(`op-${operations}`);
      await blob.upload(`payload ${operations}`, `payload ${operations}`.length);
      expect((await blob.getProperties()).contentLength).toBe(`payload ${operations}`.length);
      operations += 1;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const brokerCalls = stack.brokerRequests() - before;
    // Every broker call is one refresh of the credential's cache, and all succeeded.
    expect(brokerCalls).toBe(fetched.length);
    expect(stack.brokerRequests("ok")).toBe(stack.brokerRequests());
    // Several lifetimes crossed: about one refresh per 4-5 s, never one per request.
    expect(brokerCalls).toBeGreaterThanOrEqual(RUN_MS / (ENTRA_LIFETIME_S * 1000) + 1);
    expect(brokerCalls).toBeLessThanOrEqual(RUN_MS / 3_000 + 2);
    expect(operations).toBeGreaterThan(brokerCalls * 3);
    // Each refresh brought a token that expires later than the one before.
    expect(new Set(fetched).size).toBe(fetched.length);
    expect(handedOut.size).toBeGreaterThanOrEqual(3);
    const expiries = [...handedOut.values()].map((t) => t.expiresOnTimestamp);
    expect(Math.max(...expiries) - Math.min(...expiries)).toBeGreaterThanOrEqual(2 * ENTRA_LIFETIME_S * 1000 - 4_000);
  });
});
