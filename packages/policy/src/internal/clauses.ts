// The clauses of a workload policy, one checker each: what evaluatePolicy runs.
import { BlockedWalk, claimWalker } from "../claim-path.js";
import type { ClauseProblem, ClauseResult, PolicyClause } from "../evaluate-policy.js";
import { CONFIDENTIAL_SPACE_SWNAME, DEBUG_DISABLED } from "../workload-policy.js";
import { describeValue } from "./describe-value.js";

/** One decimal version, as `swversion` carries it (`["240500"]`). */
const VERSION = /^[0-9]{1,15}$/;

type Claims = Readonly<Record<string, unknown>>;

/**
 * One clause compiled for one policy: its `expected` words and the claim path's segments
 * are fixed up front. With `detail` false a clause that holds returns `undefined` and
 * builds nothing (the per-request check of the verifier and the broker); a clause that
 * fails always returns its whole result.
 */
export type Checker = (claims: Claims, detail: boolean) => ClauseResult | undefined;

/** The `claim_type` failure of a walk blocked by a non-object. */
function blocked(walk: BlockedWalk, clause: PolicyClause, path: string, expected: string): ClauseResult {
  const where = walk.at === "" ? "the claims" : `"${walk.at}"`;
  return fail(clause, path, "claim_type", expected, `${where} must be an object`);
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
export function exact(clause: PolicyClause, path: string, allowed: readonly string[], wording: Wording): Checker {
  const expected = oneOf(allowed);
  const at = claimWalker(path);
  return (claims, detail) => {
    const value = at(claims);
    if (value instanceof BlockedWalk) return blocked(value, clause, path, expected);
    if (value === undefined) return missing(clause, path, expected);
    if (typeof value !== "string") {
      return fail(clause, path, "claim_type", expected, `"${path}" must be a string`, value);
    }
    if (!allowed.includes(value)) return fail(clause, path, "mismatch", expected, wording.fail, value);
    return detail ? pass(clause, path, expected, wording.pass, value) : undefined;
  };
}

/** A claim that must be present with a JSON type, any value. */
export function present(clause: PolicyClause, path: string, type: "string", expected: string): Checker {
  const at = claimWalker(path);
  return (claims, detail) => {
    const value = at(claims);
    if (value instanceof BlockedWalk) return blocked(value, clause, path, expected);
    if (value === undefined) return missing(clause, path, expected);
    if (typeof value !== type) {
      return fail(clause, path, "claim_type", expected, `"${path}" must be a ${type}`, value);
    }
    return detail ? pass(clause, path, expected, `${path} is present`, value) : undefined;
  };
}

export function audienceClause(audience: string): Checker {
  const expected = audience;
  const at = claimWalker("aud");
  return (claims, detail) => {
    const value = at(claims);
    if (value instanceof BlockedWalk) return blocked(value, "audience", "aud", expected);
    if (value === undefined) return missing("audience", "aud", expected);
    const single = Array.isArray(value) && value.length === 1 ? value[0] : value;
    if (typeof single !== "string") {
      return fail("audience", "aud", "claim_type", expected, '"aud" must be a string or one string in an array', value);
    }
    if (single !== audience)
      return fail("audience", "aud", "mismatch", expected, "the token is for another audience", value);
    return detail ? pass("audience", "aud", expected, "the audience matches", value) : undefined;
  };
}

export function secboot(): Checker {
  const expected = "true";
  const at = claimWalker("secboot");
  return (claims, detail) => {
    const value = at(claims);
    if (value instanceof BlockedWalk) return blocked(value, "secboot", "secboot", expected);
    if (value === undefined) return missing("secboot", "secboot", expected);
    if (typeof value !== "boolean")
      return fail("secboot", "secboot", "claim_type", expected, '"secboot" must be a boolean', value);
    if (!value) return fail("secboot", "secboot", "mismatch", expected, "Secure Boot must be enabled", value);
    return detail ? pass("secboot", "secboot", expected, "Secure Boot is enabled", value) : undefined;
  };
}

function stringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((entry) => typeof entry === "string");
}

export function swversion(minimum: number | undefined): Checker {
  const expected = minimum === undefined ? "one decimal version" : `>= ${minimum}`;
  const at = claimWalker("swversion");
  return (claims, detail) => {
    const value = at(claims);
    if (value instanceof BlockedWalk) return blocked(value, "swversion", "swversion", expected);
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
    return detail ? pass("swversion", "swversion", expected, "swversion is accepted", value) : undefined;
  };
}

export function supportAttributes(required: readonly string[]): Checker {
  const path = "submods.confidential_space.support_attributes";
  const expected = required.length === 0 ? "any (none required)" : `all of [${required.join(", ")}]`;
  const at = claimWalker(path);
  return (claims, detail) => {
    const found = at(claims);
    if (found instanceof BlockedWalk) return blocked(found, "support_attributes", path, expected);
    // Absent means "no support attributes" (debug images), not a malformed token.
    // Stryker disable next-line ArrayDeclaration: for an absent claim any list without the required attributes decides alike
    const value = found ?? [];
    if (!stringArray(value)) {
      return fail("support_attributes", path, "claim_type", expected, `"${path}" must be an array of strings`, value);
    }
    if (!required.every((attribute) => value.includes(attribute))) {
      return fail(
        "support_attributes",
        path,
        "mismatch",
        expected,
        `support_attributes must include ${required.join(", ")}`,
        found,
      );
    }
    return detail ? pass("support_attributes", path, expected, "the support attributes are present", found) : undefined;
  };
}

export function serviceAccounts(allowed: readonly string[]): Checker {
  const path = "google_service_accounts";
  const expected = `at least one of [${allowed.join(", ")}]`;
  const at = claimWalker(path);
  return (claims, detail) => {
    const value = at(claims);
    if (value instanceof BlockedWalk) return blocked(value, "service_account", path, expected);
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
    return detail
      ? pass("service_account", path, expected, "a service account of the token is in the allow-list", value)
      : undefined;
  };
}

/** At least `threshold` distinct listed keys signed the image (signatures the service verified). */
export function signatures(keyIds: readonly string[], threshold: number): Checker {
  const path = "submods.container.image_signatures";
  const expected = `at least ${threshold} of [${keyIds.join(", ")}]`;
  const at = claimWalker(path);
  return (claims, detail) => {
    const found = at(claims);
    if (found instanceof BlockedWalk) return blocked(found, "image_signatures", path, expected);
    // Absent: an unsigned image, no signature counts.
    const entries = found ?? [];
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
    return detail
      ? pass("image_signatures", path, expected, `${counted} listed keys signed the image`, signers)
      : undefined;
  };
}
