import { describe, expect, it } from "vitest";
import { toCredentialProcessOutput } from "./aws-credential-process.js";
import { BootstrapConfigError } from "./errors.js";

describe("toCredentialProcessOutput", () => {
  it("formats a session as credential_process JSON with an ISO-8601 Expiration", () => {
    expect(
      toCredentialProcessOutput({
        accessKeyId: "ASIAEXAMPLE",
        secretAccessKey: "secret",
        sessionToken: "token",
        expiration: new Date("2026-12-03T12:00:00.000Z"),
      }),
    ).toEqual({
      Version: 1,
      AccessKeyId: "ASIAEXAMPLE",
      SecretAccessKey: "secret",
      SessionToken: "token",
      Expiration: "2026-12-03T12:00:00.000Z",
    });
  });

  it("refuses credentials without an expiration (SDKs would cache them forever), without echoing them", () => {
    const call = () => toCredentialProcessOutput({ accessKeyId: "ASIAEXAMPLE", secretAccessKey: "do-not-echo" });
    expect(call).toThrow(BootstrapConfigError);
    expect(call).toThrow(/no expiration/);
    expect(call).not.toThrow(/do-not-echo/);
  });
});
