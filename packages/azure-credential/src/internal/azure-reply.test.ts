import { BrokerError } from "@confspace/ekm-tls";
import { describe, expect, it } from "vitest";
import { parseAzureReply } from "./azure-reply.js";

const NOW = 1_800_000_000_000;
const BROKER = "https://broker.example:8443";
const good = () => ({ access_token: "eyJ.a.b", token_type: "Bearer", expires_on: NOW / 1000 + 3600, refresh_in: 3000 });

describe("parseAzureReply", () => {
  it("turns the broker's reply into an AccessToken refreshed at refresh_in", () => {
    const result = parseAzureReply(good(), NOW, BROKER);
    expect(result.value).toEqual({
      token: "eyJ.a.b",
      expiresOnTimestamp: NOW + 3_600_000,
      refreshAfterTimestamp: NOW + 3_000_000,
      tokenType: "Bearer",
    });
    expect(result.expiresAt).toBe(NOW + 3_600_000);
    expect(result.refreshAfter).toBe(NOW + 3_000_000);
    expect(Object.isFrozen(result.value)).toBe(true);
  });

  it("refreshes 5 minutes before expiry without refresh_in", () => {
    const { refresh_in: _, ...reply } = good();
    expect(parseAzureReply(reply, NOW, BROKER).refreshAfter).toBe(NOW + 3_300_000);
  });

  it("refreshes at half the lifetime of a short token without refresh_in", () => {
    expect(
      parseAzureReply({ ...good(), expires_on: NOW / 1000 + 10, refresh_in: undefined }, NOW, BROKER).refreshAfter,
    ).toBe(NOW + 5_000);
  });

  it("never plans the refresh after the token stops being served", () => {
    const result = parseAzureReply({ ...good(), expires_on: NOW / 1000 + 10, refresh_in: 60 }, NOW, BROKER);
    expect(result.refreshAfter).toBe(NOW + 9_000);
  });

  it("accepts expires_on as a numeric string and a lower-case token type", () => {
    const result = parseAzureReply(
      { ...good(), expires_on: String(NOW / 1000 + 60), token_type: "bearer" },
      NOW,
      BROKER,
    );
    expect(result.expiresAt).toBe(NOW + 60_000);
    expect(result.value.tokenType).toBe("Bearer");
  });

  it.each([
    ["no access_token", { access_token: undefined }],
    ["an empty access_token", { access_token: "" }],
    ["an access_token that is not a string", { access_token: 7 }],
    ["an access_token with whitespace", { access_token: "a b" }],
    ["an oversized access_token", { access_token: "x".repeat(40_000) }],
    ["no token_type", { token_type: undefined }],
    ["a pop token_type", { token_type: "pop" }],
    ["no expires_on", { expires_on: undefined }],
    ["a non-numeric expires_on", { expires_on: "soon" }],
    ["an expires_on in ms", { expires_on: Number.POSITIVE_INFINITY }],
    ["a zero expires_on", { expires_on: 0 }],
    ["an expired token", { expires_on: NOW / 1000 - 1 }],
    ["a token expiring now", { expires_on: NOW / 1000 }],
    ["a negative refresh_in", { refresh_in: -1 }],
    ["a string refresh_in", { refresh_in: "30" }],
  ])("refuses %s with ERR_BROKER_PROTOCOL, never echoing the token", (_name, change) => {
    const reply = { ...good(), ...change } as Record<string, unknown>;
    const error = (() => {
      try {
        parseAzureReply(reply, NOW, BROKER);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ code: "ERR_BROKER_PROTOCOL", brokerUrl: BROKER, status: 200 });
    expect((error as Error).message).not.toContain("eyJ.a.b");
  });
});
