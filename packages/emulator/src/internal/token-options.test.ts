import { describe, expect, it } from "vitest";
import { decodeTokenOptions } from "./token-options.js";

const good = {
  audience: "https://broker.example",
  nonces: ["0123456789abcdef"],
  token_type: "AWS_PRINCIPALTAGS",
  aws_principal_tag_options: { allowed_principal_tags: { container_image_signatures: { key_ids: ["k1", "k2"] } } },
};

describe("decodeTokenOptions (Go encoding/json with DisallowUnknownFields)", () => {
  it("decodes every field of TokenOptions", () => {
    expect(decodeTokenOptions(JSON.stringify(good))).toEqual({
      ok: true,
      request: {
        audience: "https://broker.example",
        nonces: ["0123456789abcdef"],
        tokenType: "AWS_PRINCIPALTAGS",
        keyIds: ["k1", "k2"],
      },
    });
  });

  it("leaves omitted and null fields empty, as Go's zero values", () => {
    expect(decodeTokenOptions('{"audience":null,"nonces":null,"aws_principal_tag_options":null}')).toEqual({
      ok: true,
      request: { audience: "", nonces: [], tokenType: "", keyIds: [] },
    });
    expect(decodeTokenOptions("null")).toMatchObject({ ok: true, request: { audience: "" } });
  });

  it("matches keys case-insensitively, as Go does", () => {
    expect(decodeTokenOptions('{"Audience":"a","TOKEN_TYPE":"PKI"}')).toMatchObject({
      ok: true,
      request: { audience: "a", tokenType: "PKI" },
    });
  });

  it("reads only the first JSON value, ignoring trailing bytes like Go's Decoder", () => {
    expect(decodeTokenOptions('{"audience":"a"} trailing')).toMatchObject({ ok: true, request: { audience: "a" } });
  });

  // One mutation per row from the known-good body.
  it.each<[string, string, string]>([
    ["an empty body", "", "EOF"],
    ["whitespace only", "  \n", "EOF"],
    ["a truncated body", '{"audience":', "unexpected EOF"],
    ["an unterminated string", '{"audience":"x', "unexpected EOF"],
    ["a non-JSON body", "audience=x", "invalid character 'a' in JSON input"],
    ["an unknown top-level field", JSON.stringify({ ...good, extra: 1 }), 'json: unknown field "extra"'],
    [
      "an unknown nested field",
      JSON.stringify({ ...good, aws_principal_tag_options: { allowed_principal_tags: { other: {} } } }),
      'json: unknown field "other"',
    ],
    [
      "a number audience",
      JSON.stringify({ ...good, audience: 5 }),
      "json: cannot unmarshal number into Go struct field TokenOptions.audience of type string",
    ],
    [
      "a string for nonces",
      JSON.stringify({ ...good, nonces: "abc" }),
      "json: cannot unmarshal string into Go struct field TokenOptions.nonces of type []string",
    ],
    [
      "a boolean nonce",
      JSON.stringify({ ...good, nonces: [true] }),
      "json: cannot unmarshal bool into Go struct field TokenOptions.nonces of type string",
    ],
    [
      "an array token_type",
      JSON.stringify({ ...good, token_type: ["OIDC"] }),
      "json: cannot unmarshal array into Go struct field TokenOptions.token_type of type string",
    ],
    [
      "a string for the AWS options",
      JSON.stringify({ ...good, aws_principal_tag_options: "x" }),
      "json: cannot unmarshal string into Go struct field TokenOptions.aws_principal_tag_options of type models.AWSPrincipalTagsOptions",
    ],
    [
      "a number key id",
      JSON.stringify({
        ...good,
        aws_principal_tag_options: { allowed_principal_tags: { container_image_signatures: { key_ids: [1] } } },
      }),
      "json: cannot unmarshal number into Go struct field TokenOptions.aws_principal_tag_options.allowed_principal_tags.container_image_signatures.key_ids of type string",
    ],
    ["a top-level array", "[]", "json: cannot unmarshal array into Go value of type models.TokenOptions"],
  ])("rejects %s", (_name, body, error) => {
    expect(decodeTokenOptions(body)).toEqual({ ok: false, error });
  });

  it("reports the first error in document order", () => {
    expect(decodeTokenOptions('{"audience":1,"zzz":2}')).toEqual({
      ok: false,
      error: "json: cannot unmarshal number into Go struct field TokenOptions.audience of type string",
    });
    expect(decodeTokenOptions('{"zzz":2,"audience":1}')).toEqual({ ok: false, error: 'json: unknown field "zzz"' });
  });
});

describe("decodeTokenOptions syntax errors", () => {
  it.each([
    ["{", "unexpected EOF"],
    ['{"a" ', "unexpected EOF"],
    ['{"a" 1}', "invalid character '1' in JSON input"],
    ["[1,]", "invalid character ']' in JSON input"],
  ])("describes %j as %s", (body, error) => {
    expect(decodeTokenOptions(body)).toEqual({ ok: false, error });
  });
});
