// The clauses of a workload policy, one checker each: what evaluatePolicy runs.
import { lookupClaim } from "../claim-path.js";
import type { ClauseProblem, ClauseResult, PolicyClause } from "../evaluate-policy.js";
import { CONFIDENTIAL_SPACE_SWNAME, DEBUG_DISABLED } from "../workload-policy.js";
import { describeValue } from "./describe-value.js";

/** One decimal version, as `swversion` carries it (`["240500"]`). */
const VERSION = /^[0-9]{1,15}$/;

type Claims = Readonly<Record<string, unknown>>;

/** Reads a claim; a walk blocked by a non-object is a `claim_type` failure at that point. */
function read(
  claims: Claims,
  clause: PolicyClause,
  path: string,
  expected: string,
): { value: unknown } | { failure: ClauseResult } {
  const { value, blockedAt } = lookupClaim(claims, path);
  if (blockedAt !== undefined) {
    const where = blockedAt === "" ? "the claims" : `"${blockedAt}"`;
    return { failure: fail(clause, path, "claim_type", expected, `${where} must be an object`) };
  }
  return { value };
}

function fail(
  clause: PolicyClause,
  claim: string,
  problem: ClauseProblem,
  expected: string,
  message: string,
  value?: unknown,
): ClauseResult {
  return { clause, claim, ok: false, problem, expected, message, ...shown(value) };
}

function pass(clause: PolicyClause, claim: string, expected: string, message: string, value: unknown): ClauseResult {
  return { clause, claim, ok: true, expected, message, ...shown(value) };
}

function shown(value: unknown): { value?: unknown } {
  return value === undefined ? {} : { value: describeValue(value) };
}

const missing = (clause: PolicyClause, path: string, expected: string) =>
  fail(clause, path, "missing_claim", expected, `the token has no "${path}" claim`);

const oneOf = (allowed: readonly string[]) => `one of [${allowed.join(", ")}]`;

/** What an allow-list clause says when it passes and when it fails. */
export interface Wording {
  pass: string;
  fail: string;
}

export const listed = (what: string): Wording => ({
  pass: `${what} is in the allow-list`,
  fail: `${what} is not in the allow-list`,
});
export const SWNAME: Wording = {
  pass: "the image is Confidential Space",
  fail: `swname must be ${CONFIDENTIAL_SPACE_SWNAME}`,
};
export const HWMODEL: Wording = {
  pass: "the hardware model is an allowed TEE",
  fail: "hwmodel is not an allowed confidential-computing hardware model",
};
export const DBGSTAT: Wording = {
  pass: "the image is not a debug image",
  fail: `dbgstat must be ${DEBUG_DISABLED} (debug images need allowDebug)`,
};

/** A string claim that must equal one of `allowed`. */
export function exact(
  claims: Claims,
  clause: PolicyClause,
  path: string,
  allowed: readonly string[],
  wording: Wording,
): ClauseResult {
  const expected = oneOf(allowed);
  const got = read(claims, clause, path, expected);
  if ("failure" in got) return got.failure;
  const { value } = got;
  if (value === undefined) return missing(clause, path, expected);
  if (typeof value !== "string") {
    return fail(clause, path, "claim_type", expected, `"${path}" must be a string`, value);
  }
  if (!allowed.includes(value)) return fail(clause, path, "mismatch", expected, wording.fail, value);
  return pass(clause, path, expected, wording.pass, value);
}

/** A claim that must be present with a JSON type, any value. */
export function present(claims: Claims, clause: PolicyClause, path: string, type: "string", expected: string) {
  const got = read(claims, clause, path, expected);
  if ("failure" in got) return got.failure;
  if (got.value === undefined) return missing(clause, path, expected);
  if (typeof got.value !== type) {
    return fail(clause, path, "claim_type", expected, `"${path}" must be a ${type}`, got.value);
  }
  return pass(clause, path, expected, `${path} is present`, got.value);
}

export function audienceClause(claims: Claims, audience: string): ClauseResult {
  const expected = audience;
  const got = read(claims, "audience", "aud", expected);
  if ("failure" in got) return got.failure;
  const { value } = got;
  if (value === undefined) return missing("audience", "aud", expected);
  const single = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (typeof single !== "string") {
    return fail("audience", "aud", "claim_type", expected, '"aud" must be a string or one string in an array', value);
  }
  if (single !== audience)
    return fail("audience", "aud", "mismatch", expected, "the token is for another audience", value);
  return pass("audience", "aud", expected, "the audience matches", value);
}

export function secboot(claims: Claims): ClauseResult {
  const expected = "true";
  const got = read(claims, "secboot", "secboot", expected);
  if ("failure" in got) return got.failure;
  const { value } = got;
  if (value === undefined) return missing("secboot", "secboot", expected);
  if (typeof value !== "boolean")
    return fail("secboot", "secboot", "claim_type", expected, '"secboot" must be a boolean', value);
  if (!value) return fail("secboot", "secboot", "mismatch", expected, "Secure Boot must be enabled", value);
  return pass("secboot", "secboot", expected, "Secure Boot is enabled", value);
}

function stringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((entry) => typeof entry === "string");
}

export function swversion(claims: Claims, minimum: number | undefined): ClauseResult {
  const expected = minimum === undefined ? "one decimal version" : `>= ${minimum}`;
  const got = read(claims, "swversion", "swversion", expected);
  if ("failure" in got) return got.failure;
  const { value } = got;
  if (value === undefined) return missing("swversion", "swversion", expected);
  if (!stringArray(value) || value.length !== 1 || !VERSION.test(value[0] as string)) {
    return fail(
      "swversion",
      "swversion",
      "claim_type",
      expected,
      '"swversion" must be an array of one decimal string',
      value,
    );
  }
  // No minimum: every version passes (Number(…) < 0 never holds).
  if (Number(value[0]) < (minimum ?? 0)) {
    return fail("swversion", "swversion", "mismatch", expected, `swversion is below the minimum ${minimum}`, value);
  }
  return pass("swversion", "swversion", expected, "swversion is accepted", value);
}

export function supportAttributes(claims: Claims, required: readonly string[]): ClauseResult {
  const path = "submods.confidential_space.support_attributes";
  const expected = required.length === 0 ? "any (none required)" : `all of [${required.join(", ")}]`;
  const got = read(claims, "support_attributes", path, expected);
  if ("failure" in got) return got.failure;
  // Absent means "no support attributes" (debug images), not a malformed token.
  // Stryker disable next-line ArrayDeclaration: for an absent claim any list without the required attributes decides alike
  const value = got.value ?? [];
  if (!stringArray(value)) {
    return fail("support_attributes", path, "claim_type", expected, `"${path}" must be an array of strings`, value);
  }
  const lacking = required.filter((attribute) => !value.includes(attribute));
  if (lacking.length > 0) {
    return fail(
      "support_attributes",
      path,
      "mismatch",
      expected,
      `support_attributes must include ${required.join(", ")}`,
      got.value,
    );
  }
  return pass("support_attributes", path, expected, "the support attributes are present", got.value);
}

export function serviceAccounts(claims: Claims, allowed: readonly string[]): ClauseResult {
  const path = "google_service_accounts";
  const expected = `at least one of [${allowed.join(", ")}]`;
  const got = read(claims, "service_account", path, expected);
  if ("failure" in got) return got.failure;
  const { value } = got;
  if (value === undefined) return missing("service_account", path, expected);
  if (!stringArray(value))
    return fail("service_account", path, "claim_type", expected, `"${path}" must be an array of strings`, value);
  if (!value.some((account) => allowed.includes(account))) {
    return fail(
      "service_account",
      path,
      "mismatch",
      expected,
      "no service account of the token is in the allow-list",
      value,
    );
  }
  return pass("service_account", path, expected, "a service account of the token is in the allow-list", value);
}

/** At least `threshold` distinct listed keys signed the image (signatures the service verified). */
export function signatures(claims: Claims, keyIds: readonly string[], threshold: number): ClauseResult {
  const path = "submods.container.image_signatures";
  const expected = `at least ${threshold} of [${keyIds.join(", ")}]`;
  const got = read(claims, "image_signatures", path, expected);
  if ("failure" in got) return got.failure;
  // Absent: an unsigned image, no signature counts.
  const entries = got.value ?? [];
  if (!Array.isArray(entries)) {
    return fail("image_signatures", path, "claim_type", expected, `"${path}" must be an array`, entries);
  }
  const signers: string[] = [];
  for (const entry of entries) {
    // A primitive entry has no key_id (its property read is undefined); null and undefined neither.
    const keyId = (entry as { key_id?: unknown } | null | undefined)?.key_id;
    if (typeof keyId !== "string") {
      return fail(
        "image_signatures",
        path,
        "claim_type",
        expected,
        `every entry of "${path}" must have a string key_id`,
      );
    }
    signers.push(keyId);
  }
  // Each key counts once, however many of its signatures the token lists.
  const counted = new Set(signers.filter((keyId) => keyIds.includes(keyId))).size;
  if (counted < threshold) {
    return fail(
      "image_signatures",
      path,
      "mismatch",
      expected,
      `${counted} of the required ${threshold} listed keys signed the image`,
      signers,
    );
  }
  return pass("image_signatures", path, expected, `${counted} listed keys signed the image`, signers);
}
