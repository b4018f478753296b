import type { ConfidentialSpaceClaims } from "../claims.js";
import { reject } from "./errors.js";
import { isJsonObject, type Payload } from "./internal/payload.js";

/**
 * The check of one claim, compiled for its place in the payload: `path` (the claim's name
 * in errors, `submods.container.env`) is fixed when the checks are built, so checking a
 * token (the broker does it on every request) builds no strings unless a check fails.
 */
type Check = (value: unknown) => void;
type Schema = (path: string) => Check;

function wrongType(path: string, what: string): never {
  throw reject("claim_type", `"${path}" must be ${what}`, path);
}

/** A JSON type test and its name in errors. */
interface Leaf {
  test(value: unknown): boolean;
  what: string;
}

const leaf =
  ({ test, what }: Leaf): Schema =>
  (path) =>
  (value) => {
    if (!test(value)) wrongType(path, what);
  };

const STRING: Leaf = { test: (value) => typeof value === "string", what: "a string" };
const STRINGS: Leaf = {
  test: (value) => Array.isArray(value) && value.every((entry) => typeof entry === "string"),
  what: "an array of strings",
};
const string = leaf(STRING);
// Number.isFinite is false for anything but a finite number (no coercion).
const number = leaf({ test: (value) => Number.isFinite(value), what: "a number" });
const boolean = leaf({ test: (value) => typeof value === "boolean", what: "a boolean" });
const strings = leaf(STRINGS);
const stringOrStrings = leaf({
  test: (value) => typeof value === "string" || STRINGS.test(value),
  what: "a string or an array of strings",
});

/** An object whose every value passes `item` (`env`: string → string); errors name the entry. */
const recordOf =
  (item: Leaf): Schema =>
  (path) =>
  (value) => {
    if (!isJsonObject(value)) wrongType(path, "an object");
    for (const key in value) {
      if (Object.hasOwn(value, key) && !item.test(value[key])) wrongType(`${path}.${key}`, item.what);
    }
  };

/** An array whose every entry passes `item`; errors name the array. */
const arrayOf =
  (item: Schema): Schema =>
  (path) => {
    const check = item(path);
    return (value) => {
      if (!Array.isArray(value)) wrongType(path, "an array");
      for (const entry of value) check(entry);
    };
  };

/** An object with these known members (others pass unchecked); `required` ones must be present. */
const object =
  // Stryker disable next-line ArrayDeclaration: no documented claim is named like Stryker's filler
    (members: Record<string, Schema>, required: readonly string[] = []): Schema =>
    (path) => {
      const compiled = Object.entries(members).map(([name, schema]) => {
        const member = path === "" ? name : `${path}.${name}`;
        return { name, member, check: schema(member), required: required.includes(name) };
      });
      return (value) => {
        if (!isJsonObject(value)) wrongType(path, "an object");
        for (const { name, member, check, required } of compiled) {
          if (Object.hasOwn(value, name)) check(value[name]);
          else if (required) throw reject("missing_claim", `the token has no "${member}" claim`, member);
        }
      };
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
        env: recordOf(STRING),
        env_override: recordOf(STRING),
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
    "https://aws.amazon.com/tags": object({ principal_tags: recordOf(STRINGS) }, ["principal_tags"]),
  },
  ["iss", "aud", "sub", "exp", "iat", "nbf", "hwmodel", "swname", "swversion", "dbgstat", "secboot", "submods"],
)("");

/**
 * Checks every documented claim of a verified payload against its type in
 * `ConfidentialSpaceClaims`, present or not looked at by the policy, so the claims
 * `verify()` returns are what their type says and the checks after it read numbers and
 * strings. Unknown claims are left as they are (`unknown` in the type). A failure is
 * `claim_type` (or `missing_claim` for a required claim), naming the claim, never its value.
 */
export function checkClaimTypes(payload: Payload): asserts payload is Payload & ConfidentialSpaceClaims {
  CLAIMS(payload);
}
