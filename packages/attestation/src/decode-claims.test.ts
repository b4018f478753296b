import { describe, expect, it } from "vitest";
import { fakeJwt } from "../test/support.js";
import { decodeClaims } from "./decode-claims.js";
import { TokenMalformedError } from "./errors.js";

const CLAIMS = {
  iss: "https://confidentialcomputing.googleapis.com",
  aud: "https://broker.example.com",
  sub: "https://www.googleapis.com/compute/v1/projects/p/zones/z/instances/i",
  exp: 1_900_000_000,
  iat: 1_899_996_400,
  nbf: 1_899_996_400,
  eat_nonce: "0123456789",
  hwmodel: "GCP_INTEL_TDX",
  swname: "CONFIDENTIAL_SPACE",
  swversion: ["240500"],
  dbgstat: "disabled-since-boot",
  secboot: true,
  submods: { container: { image_digest: "sha256:abc" }, gce: { project_number: "123" } },
};
const GOOD = fakeJwt(CLAIMS);
const b64 = (value: string) => Buffer.from(value).toString("base64url");

describe("decodeClaims", () => {
  it("returns the payload's claims as they are", () => {
    expect(decodeClaims(GOOD)).toEqual(CLAIMS);
  });

  const [header, payload, signature] = GOOD.split(".") as [string, string, string];
  it.each([
    { name: "empty string", token: "" },
    { name: "two parts", token: `${header}.${payload}` },
    { name: "four parts", token: `${GOOD}.x` },
    { name: "empty signature", token: `${header}.${payload}.` },
    { name: "standard base64 characters", token: `${header}.${payload}+/.${signature}` },
    { name: "whitespace inside", token: `${header}.${payload} .${signature}` },
    { name: "payload not JSON", token: `${header}.${b64("not json")}.${signature}` },
    { name: "payload a JSON array", token: `${header}.${b64("[1,2]")}.${signature}` },
    { name: "payload JSON null", token: `${header}.${b64("null")}.${signature}` },
    { name: "header not JSON", token: `${b64("{")}.${payload}.${signature}` },
    { name: "exp a string", token: fakeJwt({ ...CLAIMS, exp: "1900000000" }) },
    { name: "iat null", token: fakeJwt({ ...CLAIMS, iat: null }) },
    { name: "iss a number", token: fakeJwt({ ...CLAIMS, iss: 1 }) },
    { name: "longer than 64 KiB", token: fakeJwt({ ...CLAIMS, pad: "a".repeat(70_000) }) },
    { name: "not a string", token: 42 as unknown as string },
  ])("throws ERR_TOKEN_MALFORMED for $name, without quoting the input", ({ token }) => {
    let thrown: unknown;
    try {
      decodeClaims(token);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TokenMalformedError);
    expect(thrown).toMatchObject({ code: "ERR_TOKEN_MALFORMED" });
    expect((thrown as Error).message).not.toContain(payload);
  });
});
