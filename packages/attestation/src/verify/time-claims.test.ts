import { describe, expect, it } from "vitest";
import type { ConfidentialSpaceClaims } from "../claims.js";
import { AttestationPolicyError } from "./errors.js";
import { checkIssuerAndTimes } from "./time-claims.js";

const ISSUER = "https://confidentialcomputing.googleapis.com";
const NOW_S = 1_800_000_000;
// 500 ms into the second: times compare in whole seconds, so the fraction must not count.
const options = { issuer: ISSUER, now: NOW_S * 1000 + 500, clockToleranceMs: 30_000, maxTokenAgeMs: 3_600_000 };
const claims = (times: { iat?: number; nbf?: number; exp?: number; iss?: string }) =>
  ({ iss: ISSUER, iat: NOW_S, nbf: NOW_S, exp: NOW_S + 3600, ...times }) as ConfidentialSpaceClaims;

function outcome(times: Parameters<typeof claims>[0]): string {
  try {
    checkIssuerAndTimes(claims(times), options);
    return "ok";
  } catch (error) {
    expect(error).toBeInstanceOf(AttestationPolicyError);
    const { check, claim, message } = error as AttestationPolicyError;
    return `${check} ${claim}: ${message}`;
  }
}

describe("checkIssuerAndTimes", () => {
  it("accepts a token issued now", () => {
    expect(outcome({})).toBe("ok");
  });

  it("compares the issuer exactly", () => {
    const refused = "issuer iss: the token's issuer is not the configured issuer";
    expect(outcome({ iss: `${ISSUER}/` })).toBe(refused);
    expect(outcome({ iss: ISSUER.toUpperCase() })).toBe(refused);
  });

  it.each([
    ["nbf up to the tolerance ahead", { nbf: NOW_S + 30 }, "ok"],
    ["nbf a second past it", { nbf: NOW_S + 31 }, "not_yet_valid nbf: the token is not valid yet (nbf)"],
    ["exp a second inside the tolerance", { exp: NOW_S - 29 }, "ok"],
    ["exp exactly at the tolerance", { exp: NOW_S - 30 }, "expired exp: the token has expired"],
    ["an age of maxTokenAgeMs plus the tolerance", { iat: NOW_S - 3630, nbf: NOW_S - 3630 }, "ok"],
    [
      "an age a second beyond",
      { iat: NOW_S - 3631, nbf: NOW_S - 3631 },
      "too_old iat: the token was issued longer ago than maxTokenAgeMs",
    ],
    ["iat up to the tolerance ahead", { iat: NOW_S + 30, nbf: NOW_S }, "ok"],
    ["iat a second past it", { iat: NOW_S + 31, nbf: NOW_S }, "issued_in_future iat: the token's iat is in the future"],
  ])("%s", (_name, times, expected) => {
    expect(outcome(times)).toBe(expected);
  });
});
