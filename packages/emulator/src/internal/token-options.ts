// Decodes a `POST /v1/token` body the way the launcher does: Go's encoding/json into
// models.TokenOptions with DisallowUnknownFields. Keys match struct tags exactly or
// ASCII case-insensitively, `null` leaves a field empty, the first error in document
// order wins, and error texts follow Go's (`json: unknown field "x"`,
// `json: cannot unmarshal number into Go struct field TokenOptions.audience of type string`).
// Like Go's Decoder.Decode, only the first JSON value is read: trailing bytes are ignored.

/** The request, decoded. Empty strings and lists where the body left fields out. */
export interface LauncherTokenRequest {
  audience: string;
  nonces: string[];
  tokenType: string;
  /** `aws_principal_tag_options.allowed_principal_tags.container_image_signatures.key_ids`. */
  keyIds: string[];
}

export type DecodeResult = { ok: true; request: LauncherTokenRequest } | { ok: false; error: string };

type Field = "string" | "strings" | StructSpec;
interface StructSpec {
  goType: string;
  fields: Record<string, Field>;
}

const CONTAINER_IMAGE_SIGNATURES: StructSpec = {
  goType: "models.ContainerImageSignatures",
  fields: { key_ids: "strings" },
};
const ALLOWED_PRINCIPAL_TAGS: StructSpec = {
  goType: "models.AllowedPrincipalTags",
  fields: { container_image_signatures: CONTAINER_IMAGE_SIGNATURES },
};
const AWS_PRINCIPAL_TAG_OPTIONS: StructSpec = {
  goType: "models.AWSPrincipalTagsOptions",
  fields: { allowed_principal_tags: ALLOWED_PRINCIPAL_TAGS },
};
const TOKEN_OPTIONS: StructSpec = {
  goType: "models.TokenOptions",
  fields: {
    audience: "string",
    nonces: "strings",
    token_type: "string",
    aws_principal_tag_options: AWS_PRINCIPAL_TAG_OPTIONS,
  },
};

class DecodeError extends Error {}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (typeof value === "boolean") return "bool";
  return typeof value; // "string" | "number" | "object"
}

function goTypeOf(field: Field): string {
  if (field === "string") return "string";
  if (field === "strings") return "[]string";
  return field.goType;
}

function typeError(value: unknown, path: string, goType: string): DecodeError {
  const where = path === "" ? "Go value" : `Go struct field TokenOptions.${path}`;
  return new DecodeError(`json: cannot unmarshal ${jsonKind(value)} into ${where} of type ${goType}`);
}

function findField(spec: StructSpec, key: string): string | undefined {
  if (Object.hasOwn(spec.fields, key)) return key;
  const lower = key.toLowerCase();
  return Object.keys(spec.fields).find((name) => name.toLowerCase() === lower);
}

function decodeStruct(value: unknown, spec: StructSpec, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (value === null) return out;
  if (typeof value !== "object" || Array.isArray(value)) throw typeError(value, path, spec.goType);
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const name = findField(spec, key);
    if (name === undefined) throw new DecodeError(`json: unknown field ${JSON.stringify(key)}`);
    const field = spec.fields[name]!;
    const childPath = path === "" ? name : `${path}.${name}`;
    out[name] = decodeField(child, field, childPath);
  }
  return out;
}

function decodeField(value: unknown, field: Field, path: string): unknown {
  if (field === "string") {
    if (value === null) return "";
    if (typeof value !== "string") throw typeError(value, path, "string");
    return value;
  }
  if (field === "strings") {
    if (value === null) return [];
    if (!Array.isArray(value)) throw typeError(value, path, goTypeOf(field));
    return value.map((item) => {
      if (item === null) return "";
      if (typeof item !== "string") throw typeError(item, path, "string");
      return item;
    });
  }
  return decodeStruct(value, field, path);
}

function syntaxError(error: unknown, body: string): string {
  const message = error instanceof Error ? error.message : "";
  const position = /at position (\d+)/.exec(message)?.[1];
  const ended = /end of (JSON )?input|Unterminated string/i.test(message);
  if (ended || (position !== undefined && Number(position) >= body.trimEnd().length)) return "unexpected EOF";
  const token = position === undefined ? /Unexpected token '(.)'/.exec(message)?.[1] : body[Number(position)];
  return token === undefined
    ? "invalid JSON"
    : `invalid character ${JSON.stringify(token).replaceAll('"', "'")} in JSON input`;
}

function parseFirstValue(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (error) {
    const trailing =
      error instanceof Error ? /non-whitespace character after JSON at position (\d+)/.exec(error.message) : null;
    if (trailing) return JSON.parse(body.slice(0, Number(trailing[1])));
    throw error;
  }
}

/** Decodes a launcher `POST /v1/token` body; `error` is the text after `failed to parse POST body as TokenOptions: `. */
export function decodeTokenOptions(body: string): DecodeResult {
  if (body.trim() === "") return { ok: false, error: "EOF" };
  let parsed: unknown;
  try {
    parsed = parseFirstValue(body);
  } catch (error) {
    return { ok: false, error: syntaxError(error, body) };
  }
  try {
    const decoded = decodeStruct(parsed, TOKEN_OPTIONS, "");
    const aws = (decoded.aws_principal_tag_options ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
    const keyIds = aws.allowed_principal_tags?.container_image_signatures?.key_ids;
    return {
      ok: true,
      request: {
        audience: (decoded.audience as string | undefined) ?? "",
        nonces: (decoded.nonces as string[] | undefined) ?? [],
        tokenType: (decoded.token_type as string | undefined) ?? "",
        keyIds: (keyIds as string[] | undefined) ?? [],
      },
    };
  } catch (error) {
    if (error instanceof DecodeError) return { ok: false, error: error.message };
    throw error;
  }
}
