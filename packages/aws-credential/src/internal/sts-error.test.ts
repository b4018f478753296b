import { describe, expect, it } from "vitest";
import { AwsStsError } from "../errors.js";
import { toAwsStsError } from "./sts-error.js";

const ROLE = "arn:aws:iam::123456789012:role/r";

function sdkError(name: string, status: number | undefined): Error {
  return Object.assign(new Error(`upstream text for ${name}`), {
    name,
    ...(status === undefined ? {} : { Code: name, $metadata: { httpStatusCode: status, requestId: "req-1" } }),
  });
}

describe("toAwsStsError", () => {
  it.each([
    ["AccessDenied", 403, false, /trust policy/],
    ["InvalidIdentityToken", 400, false, /OIDC provider/],
    ["ExpiredTokenException", 400, false, /expired/],
    ["IDPRejectedClaim", 403, false, /refused a claim/],
    ["IDPCommunicationError", 400, true, /transient/],
    ["ValidationError", 400, false, /MaxSessionDuration/],
    ["Throttling", 400, true, /Retry later/],
    ["InternalFailure", 500, true, /Retry later/],
  ])("keeps AWS's code %s and status %s", (name, status, retryable, hint) => {
    const cause = sdkError(name, status);
    const error = toAwsStsError(cause, "AssumeRoleWithWebIdentity", ROLE, "region us-east-1");
    expect(error).toBeInstanceOf(AwsStsError);
    expect(error).toMatchObject({
      code: "ERR_AWS_STS",
      awsCode: name,
      status,
      retryable,
      requestId: "req-1",
      roleArn: ROLE,
    });
    expect(error.cause).toBe(cause);
    expect(error.message).toMatch(hint);
    expect(error.message).not.toContain("upstream text");
  });

  it("reports a failure without a reply as retryable, with the network error's name and no status", () => {
    const error = toAwsStsError(
      sdkError("TimeoutError", undefined),
      "AssumeRoleWithWebIdentity",
      ROLE,
      "http://sts.local",
    );
    expect(error).toMatchObject({ awsCode: "TimeoutError", status: undefined, retryable: true });
    expect(error.message).toContain("http://sts.local");
  });
});
