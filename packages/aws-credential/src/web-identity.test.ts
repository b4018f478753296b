import { InvalidTokenRequestError } from "@confspace/attestation";
import { describe, expect, it } from "vitest";
import { AwsCredentialOptionError } from "./errors.js";
import { fromWebIdentity, type WebIdentityOptions } from "./web-identity.js";

const valid: WebIdentityOptions = {
  roleArn: "arn:aws:iam::123456789012:role/path/reader",
  audience: "https://aws.example/123456789012",
  sessionName: "tee-1",
  durationSeconds: 900,
  stsEndpoint: "http://127.0.0.1:9",
};

describe("fromWebIdentity options", () => {
  it("accepts a valid set without calling anything", () => {
    const provider = fromWebIdentity(valid);
    expect(provider.memoized).toBe(true);
    provider.dispose();
  });

  it.each<[string, Partial<Record<keyof WebIdentityOptions, unknown>>, string]>([
    ["no roleArn", { roleArn: undefined }, "roleArn"],
    ["a user ARN as roleArn", { roleArn: "arn:aws:iam::123456789012:user/x" }, "roleArn"],
    ["a role ARN with a short account", { roleArn: "arn:aws:iam::1234:role/x" }, "roleArn"],
    ["no audience", { audience: undefined }, "audience"],
    ["an empty audience", { audience: "" }, "audience"],
    ["an unknown token type", { tokenType: "PKI" }, "tokenType"],
    ["a one-character session name", { sessionName: "a" }, "sessionName"],
    ["a session name with a space", { sessionName: "a b" }, "sessionName"],
    ["a 65-character session name", { sessionName: "a".repeat(65) }, "sessionName"],
    ["a fractional duration", { durationSeconds: 900.5 }, "durationSeconds"],
    ["a zero duration", { durationSeconds: 0 }, "durationSeconds"],
    ["a duration above 12 hours", { durationSeconds: 43_201 }, "durationSeconds"],
    ["a negative refresh window", { refreshWindowMs: -1 }, "refreshWindowMs"],
    ["a NaN expiry skew", { expirySkewMs: Number.NaN }, "expirySkewMs"],
  ])("refuses %s, naming the option", (_name, change, option) => {
    const error = (() => {
      try {
        fromWebIdentity({ ...valid, ...change } as WebIdentityOptions);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(AwsCredentialOptionError);
    expect(error).toMatchObject({ code: "ERR_INVALID_OPTION", option });
  });

  it.each<[string, Partial<WebIdentityOptions>]>([
    ["Google's STS audience", { audience: "https://sts.googleapis.com" }],
    ["an audience over 512 bytes", { audience: `https://${"a".repeat(510)}` }],
    ["key IDs with an OIDC token", { tokenType: "OIDC", awsPrincipalTagKeyIds: ["k1"] }],
  ])("refuses %s with the launcher's own validation", (_name, change) => {
    expect(() => fromWebIdentity({ ...valid, ...change })).toThrow(InvalidTokenRequestError);
  });
});
