import { describe, expect, it, vi } from "vitest";
import { ConfspaceError, CredentialUnavailableError, TokenUnavailableError } from "./errors.js";

describe("ConfspaceError", () => {
  it("carries a stable code, its class name and the cause unchanged", () => {
    const cause = new Error("socket hang up");
    const error = new CredentialUnavailableError("ERR_LAUNCHER_UNAVAILABLE", "No launcher here.", { cause });
    expect(error.code).toBe("ERR_LAUNCHER_UNAVAILABLE");
    expect(error.name).toBe("CredentialUnavailableError");
    expect(error.cause).toBe(cause);
    expect(cause.message).toBe("socket hang up");
    expect(error).toBeInstanceOf(ConfspaceError);
    expect(error).toBeInstanceOf(Error);
  });

  it("keeps instanceof working across two loaded copies of the package", async () => {
    vi.resetModules();
    const specifier = "./errors.js?second-copy";
    const copy = (await import(/* @vite-ignore */ specifier)) as typeof import("./errors.js");
    expect(copy.ConfspaceError).not.toBe(ConfspaceError);
    const fromCopy = new copy.TokenUnavailableError("unavailable", { retryAfterMs: 5 });
    expect(fromCopy).toBeInstanceOf(ConfspaceError);
    expect(fromCopy).toBeInstanceOf(TokenUnavailableError);
    expect(new ConfspaceError("ERR_X", "x")).toBeInstanceOf(copy.ConfspaceError);
    // A brand is not a blank cheque: a sibling class does not match.
    expect(fromCopy).not.toBeInstanceOf(CredentialUnavailableError);
    expect(new ConfspaceError("ERR_X", "x")).not.toBeInstanceOf(copy.TokenUnavailableError);
  });

  it("does not treat foreign values as confspace errors", () => {
    expect(new Error("plain")).not.toBeInstanceOf(ConfspaceError);
    expect({ code: "ERR_X" }).not.toBeInstanceOf(ConfspaceError);
    expect(null).not.toBeInstanceOf(ConfspaceError);
  });
});
