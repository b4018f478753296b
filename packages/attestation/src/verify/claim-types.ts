import { reject } from "./errors.js";
import type { Payload } from "./internal/claim-access.js";

/** Checks one claim value; `path` names it in the error (`submods.container.env`). */
type Check = (value: unknown, path: string) => void;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function wrongType(path: string, what: string): never {
  throw reject("claim_type", `"${path}" must be ${what}`, path);
}

const string: Check = (value, path) => {
  if (typeof value !== "string") wrongType(path, "a string");
};
const number: Check = (value, path) => {
  if (typeof value !== "number" || !Number.isFinite(value)) wrongType(path, "a number");
};
const boolean: Check = (value, path) => {
  if (typeof value !== "boolean") wrongType(path, "a boolean");
};
const strings: Check = (value, path) => {
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === "string")) {
    wrongType(path, "an array of strings");
  }
};
const stringOrStrings: Check = (value, path) => {
  if (typeof value !== "string") strings(value, path);
};

/** An object whose every value passes `item` (`env`: string → string). */
const recordOf =
  (item: Check): Check =>
  (value, path) => {
    if (!isPlainObject(value)) wrongType(path, "an object");
    for (const [key, entry] of Object.entries(value)) item(entry, `${path}.${key}`);
  };

/** An array whose every entry passes `item`; errors name the array. */
const arrayOf =
  (item: Check): Check =>
  (value, path) => {
    if (!Array.isArray(value)) wrongType(path, "an array");
    for (const entry of value) item(entry, path);
  };

/** An object with these known members (others pass unchecked); `required` ones must be present. */
const object =
  (members: Record<string, Check>, required: readonly string[] = []): Check =>
  (value, path) => {
    if (!isPlainObject(value)) wrongType(path, "an object");
    for (const [name, check] of Object.entries(members)) {
      const member = path === "" ? name : `${path}.${name}`;
      if (Object.hasOwn(value, name)) check(value[name], member);
      else if (required.includes(name)) throw reject("missing_claim", `the token has no "${member}" claim`, member);
    }
  };

const imageSignature = object({ key_id: string, signature: string, signature_algorithm: string }, [
  "key_id",
  "signature",
  "signature_algorithm",
]);

/** Every claim documented in `ConfidentialSpaceClaims`, with its JSON type. */
const CLAIMS: Check = object(
  {
    iss: string,
    aud: stringOrStrings,
    sub: string,
    exp: number,
    iat: number,
    nbf: number,
    jti: string,
    eat_nonce: stringOrStrings,
    eat_profile: string,
    hwmodel: string,
    swname: string,
    swversion: strings,
    dbgstat: string,
    secboot: boolean,
    oemid: number,
    google_service_accounts: strings,
    submods: object({
      container: object({
        image_reference: string,
        image_digest: string,
        restart_policy: string,
        image_id: string,
        env: recordOf(string),
        env_override: recordOf(string),
        cmd_override: strings,
        args: strings,
        image_signatures: arrayOf(imageSignature),
      }),
      gce: object({
        zone: string,
        project_id: string,
        project_number: string,
        instance_name: string,
        instance_id: string,
      }),
      confidential_space: object({
        support_attributes: strings,
        monitoring_enabled: object({ memory: boolean }),
      }),
    }),
    "https://aws.amazon.com/tags": object({ principal_tags: recordOf(strings) }, ["principal_tags"]),
  },
  ["iss", "aud", "sub", "exp", "iat", "nbf", "hwmodel", "swname", "swversion", "dbgstat", "secboot", "submods"],
);

/**
 * Checks every documented claim of a verified payload against its type in
 * `ConfidentialSpaceClaims`, present or not looked at by the policy, so the claims
 * `verify()` returns are what their type says. Unknown claims are left as they are
 * (`unknown` in the type). A failure is `claim_type` (or `missing_claim` for a
 * required claim), naming the claim, never its value.
 */
export function checkClaimTypes(payload: Payload): void {
  CLAIMS(payload, "");
}
