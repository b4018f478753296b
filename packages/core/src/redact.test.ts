import { describe, expect, it } from "vitest";
import { REDACTED, redact, redactString } from "./redact.js";

const jwt =
  "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJ3b3JrbG9hZCIsImF1ZCI6Imh0dHBzOi8vYnJva2VyIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU";
const pem = (edge: string) => `-----${edge} ${"PRIVATE"} KEY-----`;
const secrets = [
  jwt,
  "c2lnbmF0dXJlLWJ5dGVzLWhlcmU",
  "s3cr3t-Value!",
  "hvs.CAESIJ0zXeXAMPLEvAuLtOkEnAAAAAAAAAAAAAAA",
  "MIIEvQIBADANBg",
];

function leaks(text: string): string[] {
  return secrets.filter((s) => text.includes(s));
}

describe("redact", () => {
  it.each([
    ["a bare JWT", `token is ${jwt}`],
    ["a bearer header", `Authorization: Bearer ${jwt}`],
    ["a bearer header with an opaque token", "authorization: Bearer s3cr3t-Value!"],
    ["a form body", `grant_type=x&subject_token=${jwt}&client_secret=s3cr3t-Value!`],
    ["a JSON body", `{"access_token":"${jwt}","client_secret":"s3cr3t-Value!"}`],
    ["a Vault token", "X-Vault-Token: hvs.CAESIJ0zXeXAMPLEvAuLtOkEnAAAAAAAAAAAAAAA"],
    // Built from parts so no key-shaped block sits in the repository (it is a fragment, not a key).
    ["a PEM private key", `key: ${pem("BEGIN")}\nMIIEvQIBADANBg\n${pem("END")}`],
  ])("masks %s in a string", (_name, text) => {
    const out = redactString(text);
    expect(leaks(out)).toEqual([]);
    expect(out).toContain(REDACTED);
  });

  it("masks secrets anywhere in nested objects, arrays, maps and errors", () => {
    const input = {
      request: {
        headers: { Authorization: `Bearer ${jwt}`, "content-type": "application/json" },
        body: { grant: { client_secret: "s3cr3t-Value!", scope: "https://storage.azure.com/.default" } },
      },
      attempts: [{ note: `sent ${jwt}` }],
      map: new Map([["password", "s3cr3t-Value!"]]),
      error: new Error(`upstream rejected ${jwt}`, { cause: { privateKey: "MIIEvQIBADANBg" } }),
      token_type: "Bearer",
      expires_in: 3599,
    };
    const out = redact(input);
    expect(leaks(JSON.stringify(out))).toEqual([]);
    expect(out.request.headers["content-type"]).toBe("application/json");
    expect(out.request.body.grant.scope).toBe("https://storage.azure.com/.default");
    expect(out.token_type).toBe("Bearer");
    expect(out.expires_in).toBe(3599);
  });

  it("does not modify its input and survives cycles", () => {
    const input: Record<string, unknown> = { token: "s3cr3t-Value!" };
    input.self = input;
    const out = redact(input) as Record<string, unknown>;
    expect(input.token).toBe("s3cr3t-Value!");
    expect(out.token).toBe(REDACTED);
    expect(out.self).toBe("[Circular]");
  });

  it("leaves ordinary text alone", () => {
    const text = "requested scope https://storage.azure.com/.default for image sha256:abc in project p-1";
    expect(redactString(text)).toBe(text);
  });
});
