import { describe, expect, it } from "vitest";
import { INVALID_REQUESTS, VALID_REQUEST } from "../test/validation-cases.js";
import { InvalidTokenRequestError } from "./errors.js";
import { type TokenRequest, tokenRequestBody, validateTokenRequest } from "./token-request.js";

describe("validateTokenRequest", () => {
  it("accepts the known-good request unchanged", () => {
    expect(validateTokenRequest(VALID_REQUEST)).toEqual(VALID_REQUEST);
  });

  it("accepts the boundaries: 512-byte audience, 6 nonces of 10 and 74 bytes", () => {
    const request = {
      audience: `https://${"a".repeat(504)}`,
      nonces: ["a".repeat(10), "b".repeat(74), "c".repeat(10), "d".repeat(10), "e".repeat(10), "€".repeat(24)],
    };
    expect(validateTokenRequest(request).nonces).toHaveLength(6);
  });

  it("defaults the token type to OIDC", () => {
    expect(validateTokenRequest({ audience: "https://a.example" }).tokenType).toBe("OIDC");
  });

  it("refuses key IDs with LIMITED_AWS, saying the launcher would drop them, and accepts LIMITED_AWS without", () => {
    const call = () => validateTokenRequest({ ...VALID_REQUEST, tokenType: "LIMITED_AWS" });
    expect(call).toThrow(InvalidTokenRequestError);
    expect(call).toThrow(/only allowed with tokenType AWS_PRINCIPALTAGS .*drops them for LIMITED_AWS/);
    const { awsPrincipalTagKeyIds: _, ...rest } = VALID_REQUEST;
    expect(validateTokenRequest({ ...rest, tokenType: "LIMITED_AWS" }).tokenType).toBe("LIMITED_AWS");
  });

  it.each(INVALID_REQUESTS)("rejects $name, naming $field", ({ mutate, field }) => {
    const call = () => validateTokenRequest(mutate({ ...VALID_REQUEST }) as TokenRequest);
    expect(call).toThrow(InvalidTokenRequestError);
    try {
      call();
    } catch (error) {
      expect(error).toMatchObject({ code: "ERR_INVALID_TOKEN_REQUEST", field });
      expect((error as Error).message).toContain(field.replace(/\[\d+\]$/, ""));
    }
  });
});

describe("tokenRequestBody", () => {
  it("writes the launcher's field names and nests the key IDs", () => {
    expect(JSON.parse(tokenRequestBody(validateTokenRequest(VALID_REQUEST)))).toEqual({
      audience: VALID_REQUEST.audience,
      nonces: VALID_REQUEST.nonces,
      token_type: "AWS_PRINCIPALTAGS",
      aws_principal_tag_options: {
        allowed_principal_tags: { container_image_signatures: { key_ids: VALID_REQUEST.awsPrincipalTagKeyIds } },
      },
    });
  });

  it("omits nonces and key IDs when there are none (the launcher rejects unknown and empty extras)", () => {
    expect(JSON.parse(tokenRequestBody(validateTokenRequest({ audience: "https://a.example", nonces: [] })))).toEqual({
      audience: "https://a.example",
      token_type: "OIDC",
    });
  });
});
