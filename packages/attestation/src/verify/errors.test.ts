import { ConfspaceError } from "@confspace/core";
import { describe, expect, it } from "vitest";
import { AttestationPolicyError, AttestationVerifierUnavailableError, reject } from "./errors.js";

describe("verifier errors", () => {
  it("need no options", () => {
    const policy = new AttestationPolicyError("format", "bad");
    expect(policy).toMatchObject({ code: "ERR_ATTESTATION_POLICY", check: "format", claim: undefined, message: "bad" });
    expect(policy).toBeInstanceOf(ConfspaceError);
    const unavailable = new AttestationVerifierUnavailableError("down");
    expect(unavailable).toMatchObject({ code: "ERR_VERIFIER_UNAVAILABLE", retryAfterMs: 0, message: "down" });
  });

  it("round retryAfterMs up to whole ms and never below 0", () => {
    expect(new AttestationVerifierUnavailableError("x", { retryAfterMs: 1.2 }).retryAfterMs).toBe(2);
    expect(new AttestationVerifierUnavailableError("x", { retryAfterMs: -5 }).retryAfterMs).toBe(0);
  });

  it("reject() sets the claim and the cause only when given", () => {
    const cause = new Error("inner");
    expect(reject("audience", "m", "aud", cause)).toMatchObject({ check: "audience", claim: "aud", cause });
    const bare = reject("size", "m");
    expect(bare.claim).toBeUndefined();
    expect(Object.hasOwn(bare, "cause")).toBe(false);
  });
});
