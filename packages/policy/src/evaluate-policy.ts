import { lookupClaim } from "./claim-path.js";
import { describeValue } from "./internal/describe-value.js";
import { validatePolicy } from "./validate-policy.js";
import {
  CONFIDENTIAL_SPACE_SWNAME,
  DEBUG_DISABLED,
  type ResolvedWorkloadPolicy,
  type WorkloadPolicy,
} from "./workload-policy.js";

/**
 * A rule of a {@link WorkloadPolicy} as the evaluator checks it. `swname`, `secboot`,
 * `hwmodel`, `dbgstat`, `swversion` and `support_attributes` are checked for every policy
 * (with their defaults); the others only when the policy sets their field.
 */
export type PolicyClause =
  | "audience"
  | "swname"
  | "hwmodel"
  | "secboot"
  | "dbgstat"
  | "swversion"
  | "support_attributes"
  | "image_digest"
  | "image_signatures"
  | "project_id"
  | "project_number"
  | "restart_policy"
  | "service_account";

/**
 * Why a clause failed: the claim is absent (`missing_claim`), has the wrong JSON type
 * (`claim_type`: a string where an array belongs, `swversion` not one decimal string), or
 * holds a value the policy does not admit (`mismatch`).
 */
export type ClauseProblem = "missing_claim" | "claim_type" | "mismatch";

/** The outcome of one clause. */
export interface ClauseResult {
  /** Which rule. */
  readonly clause: PolicyClause;
  /** The claim it reads, a dotted path (`submods.container.image_digest`). */
  readonly claim: string;
  /** Whether the claims satisfy it. */
  readonly ok: boolean;
  /** Why not, when `ok` is false. */
  readonly problem?: ClauseProblem;
  /**
   * What the policy requires, in words (`one of [sha256:…]`, `at least 2 of [k1, k2, k3]`,
   * `>= 240500`).
   */
  readonly expected: string;
  /**
   * The claim's value as the token carries it, for explaining a decision: every claim a
   * policy reads is non-secret (digests, projects, service accounts, hardware). Long
   * strings and lists are shortened; for `image_signatures` only the `key_id`s are
   * shown. Absent when the claim is absent.
   */
  readonly value?: unknown;
  /** One sentence saying what was checked or what failed, without claim values. */
  readonly message: string;
}

/** What {@link evaluatePolicy} found: every clause, and the first failed one if any. */
export type PolicyEvaluation =
  | { readonly ok: true; readonly clauses: readonly ClauseResult[] }
  | { readonly ok: false; readonly failed: ClauseResult; readonly clauses: readonly ClauseResult[] };

/** One decimal version, as `swversion` carries it (`["240500"]`). */
const VERSION = /^[0-9]{1,15}$/;

/**
 * Evaluates `claims` (the payload of a token whose signature, issuer, times and audience
 * the caller has already verified) against `policy`: the one implementation behind the
 * verifier's policy check, the broker's grant matching and `explain`.
 *
 * Every clause is evaluated, in a fixed order (audience, swname, hwmodel, secboot,
 * dbgstat, swversion, support attributes, image digest, image signatures, project id,
 * project number, restart policy, service account); `failed` is the first that does not
 * hold. Types are checked before values: an array claim must be an array
 * (`"UNSTABLE".includes("STABLE")` is true), a boolean a boolean. Never throws for any
 * `claims`; a policy not made by {@link validatePolicy} is validated first (and throws
 * `InvalidOptionError` if it is not valid).
 *
 * @example
 * ```ts
 * import { evaluatePolicy } from "@confspace/policy";
 *
 * declare const claims: Record<string, unknown>; // a verified token's payload
 * const result = evaluatePolicy({ projectIds: ["my-project"], serviceAccounts: ["w@my-project.iam.gserviceaccount.com"] }, claims);
 * if (!result.ok) console.log(result.failed.clause, result.failed.claim, result.failed.value);
 * ```
 */
export function evaluatePolicy(
  policy: WorkloadPolicy | ResolvedWorkloadPolicy,
  claims: Readonly<Record<string, unknown>>,
): PolicyEvaluation {
  const p = validatePolicy(policy);
  const clauses: ClauseResult[] = [];
  const add = (result: ClauseResult) => clauses.push(Object.freeze(result));

  if (p.audience !== undefined) add(audienceClause(claims, p.audience));
  add(exact(claims, "swname", "swname", [CONFIDENTIAL_SPACE_SWNAME], SWNAME));
  add(exact(claims, "hwmodel", "hwmodel", p.hardwareModels, HWMODEL));
  add(secboot(claims));
  add(
    p.allowDebug
      ? present(claims, "dbgstat", "dbgstat", "string", "any (allowDebug)")
      : exact(claims, "dbgstat", "dbgstat", [DEBUG_DISABLED], DBGSTAT),
  );
  add(swversion(claims, p.minSwVersion));
  add(supportAttributes(claims, p.supportAttributes));
  if (p.imageDigests !== undefined) {
    add(exact(claims, "image_digest", "submods.container.image_digest", p.imageDigests, listed("the image digest")));
  }
  if (p.imageSignatures !== undefined) add(signatures(claims, p.imageSignatures.keyIds, p.imageSignatures.threshold));
  if (p.projectIds !== undefined) {
    add(exact(claims, "project_id", "submods.gce.project_id", p.projectIds, listed("the project id")));
  }
  if (p.projectNumbers !== undefined) {
    add(exact(claims, "project_number", "submods.gce.project_number", p.projectNumbers, listed("the project number")));
  }
  if (p.restartPolicies !== undefined) {
    add(
      exact(
        claims,
        "restart_policy",
        "submods.container.restart_policy",
        p.restartPolicies,
        listed("the restart policy"),
      ),
    );
  }
  if (p.serviceAccounts !== undefined) add(serviceAccounts(claims, p.serviceAccounts));

  const frozen = Object.freeze(clauses);
  const failed = frozen.find((clause) => !clause.ok);
  return failed === undefined
    ? Object.freeze({ ok: true as const, clauses: frozen })
    : Object.freeze({ ok: false as const, failed, clauses: frozen });
}

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
interface Wording {
  pass: string;
  fail: string;
}

const listed = (what: string): Wording => ({
  pass: `${what} is in the allow-list`,
  fail: `${what} is not in the allow-list`,
});
const SWNAME: Wording = {
  pass: "the image is Confidential Space",
  fail: `swname must be ${CONFIDENTIAL_SPACE_SWNAME}`,
};
const HWMODEL: Wording = {
  pass: "the hardware model is an allowed TEE",
  fail: "hwmodel is not an allowed confidential-computing hardware model",
};
const DBGSTAT: Wording = {
  pass: "the image is not a debug image",
  fail: `dbgstat must be ${DEBUG_DISABLED} (debug images need allowDebug)`,
};

/** A string claim that must equal one of `allowed`. */
function exact(
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
function present(claims: Claims, clause: PolicyClause, path: string, type: "string", expected: string) {
  const got = read(claims, clause, path, expected);
  if ("failure" in got) return got.failure;
  if (got.value === undefined) return missing(clause, path, expected);
  if (typeof got.value !== type) {
    return fail(clause, path, "claim_type", expected, `"${path}" must be a ${type}`, got.value);
  }
  return pass(clause, path, expected, `${path} is present`, got.value);
}

function audienceClause(claims: Claims, audience: string): ClauseResult {
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

function secboot(claims: Claims): ClauseResult {
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

function swversion(claims: Claims, minimum: number | undefined): ClauseResult {
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

function supportAttributes(claims: Claims, required: readonly string[]): ClauseResult {
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

function serviceAccounts(claims: Claims, allowed: readonly string[]): ClauseResult {
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
function signatures(claims: Claims, keyIds: readonly string[], threshold: number): ClauseResult {
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
