import { describe, expect, it } from "vitest";
import { AttestationPolicyError } from "../errors.js";
import { decodeHeader, peekIssuedAt } from "./compact.js";

const part = (bytes: string | Uint8Array) => Buffer.from(bytes).toString("base64url");
const HEADER = part('{"alg":"RS256","kid":"k"}');
const GOOD = `${HEADER}.${part('{"iat":1800000000}')}.c2ln`;

function refusal(token: unknown, maxTokenBytes = 1_024): { check: string; message: string } {
  try {
    decodeHeader(token, maxTokenBytes);
  } catch (error) {
    expect(error).toBeInstanceOf(AttestationPolicyError);
    const { check, message } = error as AttestationPolicyError;
    return { check, message };
  }
  return expect.unreachable("the token should have been refused");
}

describe("decodeHeader", () => {
  it("returns the decoded header of a compact JWS, with or without a signature part", () => {
    expect(decodeHeader(GOOD, 1_024)).toEqual({ alg: "RS256", kid: "k" });
    expect(decodeHeader(`${HEADER}.${part("{}")}.`, 1_024)).toEqual({ alg: "RS256", kid: "k" });
  });

  it("accepts a token of exactly maxTokenBytes and refuses one byte more", () => {
    expect(decodeHeader(GOOD, GOOD.length)).toEqual({ alg: "RS256", kid: "k" });
    expect(refusal(GOOD, GOOD.length - 1)).toEqual({
      check: "size",
      message: `the token is longer than ${GOOD.length - 1} bytes`,
    });
  });

  const NOT_COMPACT = "the token is not a compact JWS (three base64url parts)";
  const NOT_JSON = "the token's header is not base64url JSON";
  const NOT_OBJECT = "the token's header is not a JSON object";
  it.each([
    ["a number", 42, "the token must be a string"],
    ["undefined", undefined, "the token must be a string"],
    ["two parts", `${HEADER}.${part("{}")}`, NOT_COMPACT],
    ["four parts", `${GOOD}.x`, NOT_COMPACT],
    ["a character before the header", `#${GOOD}`, NOT_COMPACT],
    ["a character after the signature", `${GOOD}#`, NOT_COMPACT],
    ["a trailing newline", `${GOOD}\n`, NOT_COMPACT],
    ["standard base64 padding", `${HEADER}=.${part("{}")}.c2ln`, NOT_COMPACT],
    ["an empty header", `.${part("{}")}.c2ln`, NOT_COMPACT],
    ["a header that is not JSON", `${part("{alg")}.${part("{}")}.c2ln`, NOT_JSON],
    // Decoded leniently, these bytes would be the JSON object {"alg":"\ufffd"}.
    [
      "a header of invalid UTF-8",
      `${part(Buffer.from([...Buffer.from('{"alg":"'), 0xff, 0x22, 0x7d]))}.e30.c2ln`,
      NOT_JSON,
    ],
    ["a JSON array header", `${part("[]")}.e30.c2ln`, NOT_OBJECT],
    ["a JSON null header", `${part("null")}.e30.c2ln`, NOT_OBJECT],
    ["a JSON number header", `${part("1")}.e30.c2ln`, NOT_OBJECT],
  ])("refuses %s", (_name, token, message) => {
    expect(refusal(token)).toEqual({ check: "format", message });
  });
});

describe("peekIssuedAt", () => {
  it("reads iat without verifying anything", () => {
    expect(peekIssuedAt(GOOD)).toBe(1_800_000_000);
  });

  it.each([
    ["a payload that is not JSON", `${HEADER}.${part("{iat")}.c2ln`],
    ["a null payload", `${HEADER}.${part("null")}.c2ln`],
    ["a number payload", `${HEADER}.${part("7")}.c2ln`],
    ["a payload without iat", `${HEADER}.${part("{}")}.c2ln`],
  ])("is undefined for %s", (_name, token) => {
    expect(peekIssuedAt(token)).toBeUndefined();
  });
});
