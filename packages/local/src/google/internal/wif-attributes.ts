import { type CelInput, type CelResult, celEnv, isCelError, isCelList, parse, plan } from "@bufbuild/cel";
import { InvalidOptionError } from "@confspace/core";
import type { StsFailure } from "./sts-errors.js";

/**
 * Attribute mapping and attribute condition of a workload identity pool provider,
 * written in CEL as for `gcloud iam workload-identity-pools providers create-oidc
 * --attribute-mapping=… --attribute-condition=…`, evaluated with `@bufbuild/cel`.
 *
 * Google's documented rules (IAM `WorkloadIdentityPoolProvider`): keys are
 * `google.subject` (required; a string of at most 127 bytes), `google.groups` and up to
 * 50 `attribute.NAME` (NAME at most 100 of `[a-z0-9_]`); the condition is at most 4096
 * characters and may use `assertion` (the token's claims as JSON), `google` and
 * `attribute`; it must evaluate to `true`. A CEL error — `int()` of a list, a field the
 * token does not have — makes the condition fail, so the exchange is rejected.
 */
export interface AttributeRules {
  /** Mapping key (`google.subject`, `attribute.image_reference`) → CEL program. */
  mapping: ReadonlyMap<string, Program>;
  condition: Program | undefined;
}

/** Values a federated token carries after mapping. */
export interface MappedAttributes {
  /** `google.subject`. */
  subject: string;
  /** `google.groups` (empty when not mapped). */
  groups: string[];
  /** `attribute.NAME` values by NAME: a string or a list of strings. */
  attributes: Record<string, string | string[]>;
}

type Program = (bindings: Record<string, CelInput>) => CelResult;

/** OIDC providers without a mapping get this one (Google's default for OIDC). */
export const DEFAULT_OIDC_MAPPING: Readonly<Record<string, string>> = { "google.subject": "assertion.sub" };

const ATTRIBUTE_KEY = /^attribute\.[a-z0-9_]{1,100}$/;
const MAX_CUSTOM_ATTRIBUTES = 50;
const MAX_CONDITION_LENGTH = 4096;
const MAX_SUBJECT_BYTES = 127;

/**
 * Reads an attribute mapping given as an object, or as gcloud's flag text
 * `KEY=EXPR,KEY=EXPR` (split on commas, each pair on its first `=`; gcloud's
 * `^DELIM^KEY=EXPR…` prefix picks another delimiter for expressions with commas).
 */
export function parseAttributeMapping(input: string | Readonly<Record<string, string>>): Record<string, string> {
  if (typeof input !== "string") return { ...input };
  let text = input;
  let delimiter = ",";
  const custom = /^\^([^^]+)\^/.exec(text);
  if (custom) {
    delimiter = custom[1]!;
    text = text.slice(custom[0].length);
  }
  const mapping: Record<string, string> = {};
  for (const pair of text.split(delimiter)) {
    if (pair.trim() === "") continue;
    const at = pair.indexOf("=");
    if (at <= 0)
      throw new InvalidOptionError(
        "providers[].attributeMapping",
        `attribute mapping entry "${pair}" is not KEY=EXPRESSION`,
      );
    mapping[pair.slice(0, at).trim()] = pair.slice(at + 1);
  }
  return mapping;
}

/** Validates and compiles a provider's rules as Google does when the provider is created (`TypeError` otherwise). */
export function compileAttributeRules(
  label: string,
  mappingInput: string | Readonly<Record<string, string>> | undefined,
  conditionText: string | undefined,
): AttributeRules {
  const mappingSource = mappingInput === undefined ? { ...DEFAULT_OIDC_MAPPING } : parseAttributeMapping(mappingInput);
  if (!("google.subject" in mappingSource))
    throw new InvalidOptionError(
      "providers[].attributeMapping",
      `${label}: the attribute mapping must map google.subject`,
    );
  const keys = Object.keys(mappingSource);
  for (const key of keys) {
    if (key !== "google.subject" && key !== "google.groups" && !ATTRIBUTE_KEY.test(key)) {
      throw new InvalidOptionError(
        "providers[].attributeMapping",
        `${label}: attribute mapping key "${key}" is not google.subject, google.groups or attribute.NAME (NAME: 1–100 of a-z, 0-9, _)`,
      );
    }
  }
  if (keys.filter((key) => key.startsWith("attribute.")).length > MAX_CUSTOM_ATTRIBUTES) {
    throw new InvalidOptionError(
      "providers[].attributeMapping",
      `${label}: at most ${MAX_CUSTOM_ATTRIBUTES} custom attributes can be mapped`,
    );
  }
  const mapping = new Map<string, Program>();
  for (const key of keys)
    mapping.set(
      key,
      compile(`${label}: attribute mapping ${key}`, mappingSource[key]!, "providers[].attributeMapping"),
    );
  let condition: Program | undefined;
  if (conditionText !== undefined && conditionText.trim() !== "") {
    if (conditionText.length > MAX_CONDITION_LENGTH) {
      throw new InvalidOptionError(
        "providers[].attributeCondition",
        `${label}: the attribute condition exceeds ${MAX_CONDITION_LENGTH} characters`,
      );
    }
    condition = compile(`${label}: attribute condition`, conditionText, "providers[].attributeCondition");
  }
  return { mapping, condition };
}

function compile(what: string, expression: string, option: string): Program {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(expression);
  } catch (error) {
    throw new InvalidOptionError(option, `${what} is not valid CEL: ${(error as Error).message}`);
  }
  return plan(celEnv(), parsed) as Program;
}

/** JSON claims as CEL sees `assertion` (Google passes it as JSON: numbers are doubles, objects maps). */
export function claimsToCel(value: unknown): CelInput {
  if (Array.isArray(value)) return value.map(claimsToCel);
  if (value !== null && typeof value === "object") {
    return new Map(Object.entries(value).map(([key, item]) => [key, claimsToCel(item)]));
  }
  return value as CelInput;
}

/**
 * Maps the verified claims, then evaluates the condition against `assertion`, `google`
 * and `attribute`. Returns Google's OAuth error when the token is refused.
 */
export function applyAttributeRules(
  rules: AttributeRules,
  claims: Record<string, unknown>,
): MappedAttributes | StsFailure {
  const assertion = claimsToCel(claims);
  const mapped: MappedAttributes = { subject: "", groups: [], attributes: {} };
  for (const [key, program] of rules.mapping) {
    const value = program({ assertion });
    if (key === "google.subject") {
      // Verbatim: Google's reply when google.subject is not a string.
      if (typeof value !== "string")
        return unauthorized("The mapped attribute 'google.subject' must be of type STRING.");
      if (Buffer.byteLength(value) > MAX_SUBJECT_BYTES) {
        // Verbatim.
        return {
          error: "invalid_request",
          error_description:
            "The size of mapped attribute google.subject exceeds the 127 bytes limit. Either modify your attribute " +
            "mapping or the incoming assertion to produce a mapped attribute that is less than 127 bytes.",
        };
      }
      mapped.subject = value;
      continue;
    }
    // A custom attribute whose expression errors (a claim the token lacks) is left unset.
    if (isCelError(value)) continue;
    const strings = stringOrList(value);
    if (strings === undefined) {
      return unauthorized(`The mapped attribute '${key}' must be of type STRING or LIST of STRING.`);
    }
    if (key === "google.groups") mapped.groups = typeof strings === "string" ? [strings] : strings;
    else mapped.attributes[key.slice("attribute.".length)] = strings;
  }
  if (rules.condition) {
    const google = new Map<string, CelInput>([
      ["subject", mapped.subject],
      ["groups", mapped.groups],
    ]);
    const attribute = new Map<string, CelInput>(Object.entries(mapped.attributes));
    const verdict = rules.condition({ assertion, google, attribute });
    // Only `true` admits; false, a CEL error or a non-boolean all reject.
    if (verdict !== true) return unauthorized("The given credential is rejected by the attribute condition.");
  }
  return mapped;
}

function stringOrList(value: CelResult): string | string[] | undefined {
  if (typeof value === "string") return value;
  if (isCelList(value)) {
    const items = [...value];
    return items.every((item) => typeof item === "string") ? (items as string[]) : undefined;
  }
  return undefined;
}

function unauthorized(description: string): StsFailure {
  return { error: "unauthorized_client", error_description: description };
}
