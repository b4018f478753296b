import type { TokenCredential } from "@azure/identity";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AzureUpstream, refreshInSeconds } from "./azure-upstream.js";

const MINUTE = 60_000;
const tenants = { main: { tenantId: "t", clientId: "c", clientSecretEnv: "SECRET" } };

function upstream(getToken: TokenCredential["getToken"]) {
  return new AzureUpstream({
    tenants,
    env: { SECRET: "s" },
    credentialFactory: () => ({ getToken }),
  });
}

describe("refreshInSeconds", () => {
  it("points just after the broker's own refresh while the token is fresh", () => {
    const token = { token: "t", expiresOnTimestamp: 60 * MINUTE, refreshAt: 55 * MINUTE };
    // 55 min + min(30 s, 5 min / 4) = 55.5 min from t=0
    expect(refreshInSeconds(token, 0)).toBe(55 * 60 + 30);
    expect(refreshInSeconds(token, 50 * MINUTE)).toBe(5 * 60 + 30);
  });

  it("asks to come back soon, never after expiry, once the broker's refresh is due", () => {
    const token = { token: "t", expiresOnTimestamp: 60 * MINUTE, refreshAt: 55 * MINUTE };
    expect(refreshInSeconds(token, 56 * MINUTE)).toBe(60);
    expect(refreshInSeconds(token, 59 * MINUTE)).toBe(15);
    expect(refreshInSeconds(token, 60 * MINUTE - 100)).toBe(1);
  });
});

describe("AzureUpstream", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("caches per (tenant, scope), honours refreshAfterTimestamp, and refreshes in the background", async () => {
    vi.useFakeTimers({ now: 0 });
    let n = 0;
    const getToken = vi.fn(async () => {
      n += 1;
      return {
        token: `t${n}`,
        expiresOnTimestamp: Date.now() + 60 * MINUTE,
        refreshAfterTimestamp: Date.now() + 30 * MINUTE,
      };
    });
    const azure = upstream(getToken);
    const first = await azure.getToken("main", "s/.default");
    expect(first).toEqual({ token: "t1", expiresOnTimestamp: 60 * MINUTE, refreshAt: 30 * MINUTE });
    expect((await azure.getToken("main", "s/.default")).token).toBe("t1");
    expect(getToken).toHaveBeenCalledTimes(1);
    await azure.getToken("main", "other/.default");
    expect(getToken).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(30 * MINUTE - 1);
    expect(getToken).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1);
    // Both keys reached Entra's refresh hint: one background refresh each.
    expect(getToken).toHaveBeenCalledTimes(4);
    const refreshed = await azure.getToken("main", "s/.default");
    expect(refreshed.token).not.toBe("t1");
    expect(refreshed.expiresOnTimestamp).toBe(90 * MINUTE);
    azure.dispose();
  });

  it("turns a credential failure into UpstreamUnavailableError with a Retry-After", async () => {
    const azure = upstream(async () => {
      throw new Error("AADSTS7000215: Invalid client secret provided");
    });
    await expect(azure.getToken("main", "s/.default")).rejects.toMatchObject({
      code: "ERR_UPSTREAM_UNAVAILABLE",
      provider: "azure",
      retryAfterMs: 5_000,
    });
    // Backing off: the next caller fails at once with the backoff delay.
    const error = await azure.getToken("main", "s/.default").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_UPSTREAM_UNAVAILABLE" });
    expect((error as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    expect((error as Error).message).not.toContain("AADSTS");
    azure.dispose();
  });
});
