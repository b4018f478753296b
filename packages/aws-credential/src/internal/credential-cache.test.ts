import type { FetchContext } from "@confspace/core";
import { describe, expect, it, vi } from "vitest";
import { credentialProvider, type ExpiringAwsIdentity } from "./credential-cache.js";

const HOUR = 3_600_000;

function counting() {
  let n = 0;
  const fetch = vi.fn(async (_context: FetchContext): Promise<ExpiringAwsIdentity> => {
    n += 1;
    return { accessKeyId: `AKIA${n}`, secretAccessKey: `s${n}`, expiration: new Date(Date.now() + HOUR) };
  });
  const provider = credentialProvider({ name: "test credentials", fetch, fields: {} });
  return { fetch, provider };
}

describe("credentialProvider", () => {
  it("serves the cached identity to plain calls", async () => {
    const { fetch, provider } = counting();
    try {
      expect((await provider()).accessKeyId).toBe("AKIA1");
      expect((await provider({})).accessKeyId).toBe("AKIA1");
      expect(fetch).toHaveBeenCalledTimes(1);
    } finally {
      provider.dispose();
    }
  });

  it("refetches on provider({ forceRefresh: true }), as the SDK asks after an expired-token error, and serves the new identity", async () => {
    const { fetch, provider } = counting();
    try {
      await provider();
      const forced = await provider({ forceRefresh: true });
      expect(forced.accessKeyId).toBe("AKIA2");
      expect(fetch).toHaveBeenCalledTimes(2);
      expect(fetch.mock.calls[1]![0].reason).toBe("forced");
      expect((await provider()).accessKeyId).toBe("AKIA2");
    } finally {
      provider.dispose();
    }
  });

  it.each([[false], ["true"], [1]])(
    "does not refetch for forceRefresh = %j (only the boolean true forces)",
    async (value) => {
      const { fetch, provider } = counting();
      try {
        await provider();
        expect((await provider({ forceRefresh: value })).accessKeyId).toBe("AKIA1");
        expect(fetch).toHaveBeenCalledTimes(1);
      } finally {
        provider.dispose();
      }
    },
  );
});
