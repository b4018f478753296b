import { describe, expect, it } from "vitest";
import { isSecretKey, REDACTED, redact, redactString } from "./redact.js";

const R = REDACTED;
const pem = (edge: string, type = "") => `-----${edge} ${type}${"PRIVATE"} KEY-----`;

describe("redactString, secret pairs in every spelling", () => {
  it.each([
    ["secret s3cr3t-Value!", `secret ${R}`],
    ["secret\ts3cr3t-Value!", `secret\t${R}`],
    ["secret   s3cr3t-Value!", `secret   ${R}`],
    ["secret=Bearerish", `secret=${R}`],
    ["token=notBasic", `token=${R}`],
    ["secret 9zz://abc123", `secret ${R}`], // not a URL: a scheme starts with a letter
    ["client_secret: s3cr3t-Value!", `client_secret: ${R}`],
    ["CLIENT_SECRET = s3cr3t-Value!", `CLIENT_SECRET = ${R}`],
    ["secret=abc", `secret=${R}`],
    ['"password" : "two words"', `"password" : "${R}"`],
    ["{'api_key': 'abc'}", `{'api_key': '${R}'}`],
    ['{"client_secret":"abc","scope":"x"}', `{"client_secret":"${R}","scope":"x"}`],
    ["secret => abc", `secret => ${R}`],
    ["db.password := abc", `db.password := ${R}`],
    ["x-api-key: abc", `x-api-key: ${R}`],
    ["private-key=abc", `private-key=${R}`],
    ["secretAccessKey: abc", `secretAccessKey: ${R}`],
    ["sessionToken: abc", `sessionToken: ${R}`],
    [
      "https://acct.blob.core.windows.net/c?sv=2024&sig=abc%2Fdef&se=1",
      `https://acct.blob.core.windows.net/c?sv=2024&sig=${R}&se=1`,
    ],
    ["a=1&token=abc&b=2", `a=1&token=${R}&b=2`],
    ["a=1;password=abc;b=2", `a=1;password=${R};b=2`],
    ["note: token=abc", `note: token=${R}`],
    ["secret token=abc", `secret token=${R}`],
    ["secret=token:abc", `secret=${R}`],
    ['secret "two words"', `secret "${R}"`],
    ["password 'two words'", `password '${R}'`],
    ["password hunter2hunter2", `password ${R}`],
    ["secret abc12345", `secret ${R}`], // 8 characters, letters and digits
    ["token abcdefghijklmnopqrstuvwx", `token ${R}`], // 24 characters
    ["Authorization: Basic dXNlcjpwYXNz", `Authorization: Basic ${R}`],
    ["Authorization: Bearer  opaque-1", `Authorization: Bearer ${R}`],
    ["client_secret=[REDACTED] and more", `client_secret=${R} and more`],
  ])("%s", (text, expected) => {
    expect(redactString(text)).toBe(expected);
  });

  it.each([
    ["the token cache has been disposed"],
    ["password reset required"],
    ["secret abc1234"], // 7 characters: too short to look like a secret
    ["token abcdefghijklmnopqrstuvw"], // 23 letters
    ["secret abcdefghij"], // letters only
    ["secret 1234567890"], // digits only
    ["token https://sts.googleapis.com/v1/token"],
    ["token_type=Bearer&expires_in=3599&refresh_in=1800"],
    ["tokenType: Bearer, expiresOn: 1767225600"],
    ["secret-santa party"],
    ["password\nhunter2hunter2 is on the next line"],
  ])("keeps %s", (text) => {
    expect(redactString(text)).toBe(text);
  });
});

describe("redactString, token shapes", () => {
  it.each([
    ["a JWS with an empty signature", "a eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0. b", `a ${R} b`],
    ["a five-part JWE", "a eyJhbGciOiJSU0EifQ.ZW5jcnlwdGVk.aXY.Y2lwaGVy.dGFn b", `a ${R} b`],
    ["a JWE with empty parts", "a eyJhbGciOiJkaXIifQ..aXY.Y2lwaGVy. b", `a ${R} b`],
    ["a bearer value", "got Bearer abcdef", `got Bearer ${R}`],
    ["an RSA key", `a ${pem("BEGIN", "RSA ")}\nMIIE\n${pem("END", "RSA ")} b`, `a ${R} b`],
    ["a key cut short", `a ${pem("BEGIN")}\nMIIE`, `a ${R}`],
    ["a Vault batch token", "t hvb.AAAAAQKq2ab3ZxAbCdEfGhIjKl z", `t ${R} z`],
    ["a Vault recovery token", "t hvr.AAAAAQKq2ab3ZxAbCdEfGhIjKl z", `t ${R} z`],
  ])("masks %s", (_name, text, expected) => {
    expect(redactString(text)).toBe(expected);
  });

  it.each([["hvs.short"], ["hvx.AAAAAQKq2ab3ZxAbCdEfGhIjKl"], ["hvs.!!!!!!!!!!!!!!!!!!!!!!!!"]])(
    "keeps %s (not a Vault token)",
    (text) => {
      expect(redactString(text)).toBe(text);
    },
  );
});

describe("isSecretKey", () => {
  it.each([
    "authorization",
    "Proxy-Authorization",
    "cookie",
    "set-cookie",
    "x-vault-token",
    "client_secret",
    "db_password",
    "passphrase",
    "client_assertion",
    "jwt",
    "credentials",
    "private_key",
    "private-key",
    "privateKey",
    "signature",
    "key",
    "sig",
    "api_key",
    "x-api-key",
    "apiKey",
    "x_token_type",
    "token_type_x",
  ])("%s is secret", (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each([
    "token_type",
    "tokenType",
    "expires_in",
    "expiresIn",
    "expires_on",
    "expiresOn",
    "token_ttl",
    "tokenTtl",
    "token_policies",
    "tokenPolicies",
    "refresh_in",
    "refreshIn",
    "fortune-cookie",
    "cookies-policy",
    "authorizationUrl",
    "monkey",
    "keyboard",
    "signal",
    "xsig",
    "scope",
  ])("%s is not", (key) => {
    expect(isSecretKey(key)).toBe(false);
  });
});

describe("redact, values of every shape", () => {
  it("masks secret fields of a Map, keeps the others, and redacts strings inside", () => {
    const out = redact({
      m: new Map<unknown, unknown>([
        ["password", "x"],
        [1, "token=abc"],
      ]),
    });
    expect(out).toEqual({ m: { password: R, 1: `token=${R}` } });
  });

  it("describes binary data by its size, never its bytes", () => {
    expect(
      redact({
        b: Buffer.from("secret"),
        u: new Uint8Array(3),
        a: new ArrayBuffer(4),
        d: new DataView(new ArrayBuffer(2)),
      }),
    ).toEqual({
      b: "[Buffer 6 bytes]",
      u: "[Uint8Array 3 bytes]",
      a: "[ArrayBuffer 4 bytes]",
      d: "[DataView 2 bytes]",
    });
  });

  it("turns an Error into name, message, code and cause, redacted, and nothing else", () => {
    const cause = Object.assign(new Error("inner"), { code: "ERR_INNER" });
    const error = Object.assign(new TypeError("bad token=abc", { cause }), { code: "ERR_X", extra: "s3cr3t" });
    expect(redact(error)).toStrictEqual({
      name: "TypeError",
      message: `bad token=${R}`,
      code: "ERR_X",
      cause: { name: "Error", message: "inner", code: "ERR_INNER" },
    });
    expect(redact(new Error("plain"))).toStrictEqual({ name: "Error", message: "plain" });
  });

  it("writes dates and URLs as text, redacting a URL's secret query", () => {
    const when = new Date(Date.UTC(2026, 0, 1));
    expect(redact({ when, url: new URL("https://h/p?sig=abc") })).toEqual({
      when: when.toString(),
      url: `https://h/p?sig=${R}`,
    });
  });

  it("keeps null and undefined secret fields as they are, and other primitives unchanged", () => {
    expect(redact({ token: null, secret: undefined, n: 1, t: true, s: "ok" })).toEqual({
      token: null,
      secret: undefined,
      n: 1,
      t: true,
      s: "ok",
    });
  });

  it.each([
    ["objects", (inner: unknown) => ({ child: inner }), (v: unknown) => (v as { child: unknown }).child],
    ["arrays", (inner: unknown) => [inner], (v: unknown) => (v as unknown[])[0]],
    ["maps", (inner: unknown) => new Map([["child", inner]]), (v: unknown) => (v as { child: unknown }).child],
    [
      "error causes",
      (inner: unknown) => new Error("e", { cause: inner }),
      (v: unknown) => (v as { cause: unknown }).cause,
    ],
  ])("stops at depth 8 in nested %s", (_name, wrap, unwrap) => {
    const nest = (levels: number) => {
      let value: unknown = { leaf: "x" };
      for (let i = 0; i < levels; i++) value = wrap(value);
      return value;
    };
    const dig = (value: unknown, levels: number) => {
      for (let i = 0; i < levels; i++) value = unwrap(value);
      return value;
    };
    expect(dig(redact(nest(8)), 8)).toBe("[Truncated]");
    expect(dig(redact(nest(7)), 7)).toEqual({ leaf: "x" });
  });

  it("marks a cycle through an array as circular", () => {
    const list: unknown[] = ["token=abc"];
    list.push(list);
    expect(redact(list)).toEqual([`token=${R}`, "[Circular]"]);
  });
});
