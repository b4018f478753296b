import { InvalidOptionError } from "@confspace/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RawResponse, send, sign, startTestIssuer, type TestIssuer, xmlText } from "../../test/aws.js";
import { type LocalAwsSts, type PolicyDocument, startLocalAwsSts } from "./sts.js";

const ACCOUNT = "123456789012";
const AUD = "https://aws.confspace.test/aud";
const DIGEST = "sha256:0123456789abcdef";
const ROLE = `arn:aws:iam::${ACCOUNT}:role/reader`;
const SHORT_ROLE = `arn:aws:iam::${ACCOUNT}:role/short`;
const EXTERNAL_ROLE = `arn:aws:iam::${ACCOUNT}:role/external`;
const SOURCE_ROLE = `arn:aws:iam::${ACCOUNT}:role/source-identity`;
const USER = {
  arn: `arn:aws:iam::${ACCOUNT}:user/broker`,
  accessKeyId: "AKIAUSER000000000001",
  secretAccessKey: "user-secret",
};
const TAGS = {
  principal_tags: {
    "container.image_digest": [DIGEST],
    "confidential_space.support_attributes": ["LATEST=STABLE=USABLE"],
  },
};

let issuer: TestIssuer;
let sts: LocalAwsSts;
let now = Date.now();
let provider: string;

beforeAll(async () => {
  issuer = await startTestIssuer();
  provider = issuer.url.replace("http://", "");
  const trust: PolicyDocument = {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${provider}` },
        Action: ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
        Condition: {
          StringEquals: { [`${provider}:aud`]: AUD, "aws:RequestTag/container.image_digest": DIGEST },
          StringLike: { "aws:RequestTag/confidential_space.support_attributes": "*STABLE*" },
        },
      },
      {
        Effect: "Allow",
        Principal: { AWS: [USER.arn, ROLE] },
        Action: "sts:AssumeRole",
      },
    ],
  };
  sts = await startLocalAwsSts({
    oidcProviders: [
      { url: issuer.url, clientIds: [AUD] },
      { url: "http://127.0.0.1:9/unreachable", clientIds: [AUD] },
    ],
    users: [USER],
    roles: [
      { arn: ROLE, trustPolicy: trust, maxSessionDurationSeconds: 7200 },
      { arn: SHORT_ROLE, trustPolicy: JSON.stringify(trust), maxSessionDurationSeconds: 900 },
      {
        arn: SOURCE_ROLE,
        trustPolicy: {
          Statement: {
            Effect: "Allow",
            Principal: { AWS: USER.arn },
            Action: ["sts:AssumeRole", "sts:SetSourceIdentity"],
            Condition: { StringLike: { "sts:SourceIdentity": "app-*" } },
          },
        },
      },
      {
        arn: EXTERNAL_ROLE,
        trustPolicy: {
          Statement: {
            Effect: "Allow",
            Principal: { AWS: ACCOUNT },
            Action: "sts:AssumeRole",
            Condition: { StringEquals: { "sts:ExternalId": "partner-42" } },
          },
        },
      },
    ],
    clock: () => now,
  });
});
afterAll(async () => {
  await sts.close();
  await issuer.stop();
});

const FORM = { "content-type": "application/x-www-form-urlencoded; charset=utf-8" };

function post(form: Record<string, string>): Promise<RawResponse> {
  return send(sts.endpoint, { method: "POST", path: "/", headers: FORM, body: new URLSearchParams(form).toString() });
}

async function webIdentity(
  edit: (form: Record<string, string>) => void = () => {},
  token?: string,
): Promise<RawResponse> {
  const form: Record<string, string> = {
    Action: "AssumeRoleWithWebIdentity",
    Version: "2011-06-15",
    RoleArn: ROLE,
    RoleSessionName: "web-1",
    WebIdentityToken: token ?? (await issuer.mint({ aud: AUD, "https://aws.amazon.com/tags": TAGS })),
  };
  edit(form);
  return post(form);
}

function expectError(res: RawResponse, status: number, code: string, message?: RegExp): void {
  expect(res.status).toBe(status);
  expect(res.headers["content-type"]).toBe("text/xml");
  expect(res.body).toMatch(
    /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"><Error><Type>(Sender|Receiver)<\/Type>/,
  );
  expect(xmlText(res.body, "Code")).toBe(code);
  if (message) expect(xmlText(res.body, "Message")).toMatch(message);
}

describe("AssumeRoleWithWebIdentity", () => {
  it("issues credentials, with the token's principal tags as session tags", async () => {
    const res = await webIdentity();
    expect(res.status).toBe(200);
    expect(res.body).toContain('<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">');
    const accessKeyId = xmlText(res.body, "AccessKeyId")!;
    expect(accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(xmlText(res.body, "SecretAccessKey")).toHaveLength(40);
    expect(xmlText(res.body, "Expiration")).toBe(new Date(now + 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z"));
    expect(xmlText(res.body, "Arn")).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/reader/web-1`);
    expect(xmlText(res.body, "SubjectFromWebIdentityToken")).toBe("workload-1");
    expect(xmlText(res.body, "Audience")).toBe(AUD);
    expect(xmlText(res.body, "Provider")).toBe(issuer.url);
    const session = sts.issued.get(accessKeyId)!;
    expect(session.tags).toEqual({
      "container.image_digest": DIGEST,
      "confidential_space.support_attributes": "LATEST=STABLE=USABLE",
    });
    expect(sts.requests.at(-1)).toMatchObject({ action: "AssumeRoleWithWebIdentity", roleArn: ROLE, status: 200 });
    expect(JSON.stringify(sts.requests)).not.toContain(session.sessionToken);
  });

  it("accepts a token up to five minutes past exp (IAM's clock-skew allowance)", async () => {
    const token = await issuer.mint({ aud: AUD, "https://aws.amazon.com/tags": TAGS }, (c) => {
      c.exp = Math.floor(now / 1000) - 240;
    });
    expect((await webIdentity(undefined, token)).status).toBe(200);
  });

  const claimRows: Array<[string, (c: Record<string, unknown>) => void, number, string, RegExp?]> = [
    [
      "an issuer with no IAM provider",
      (c) => {
        c.iss = "https://evil.example";
      },
      400,
      "InvalidIdentityToken",
      /No OpenIDConnect provider found in your account for https:\/\/evil\.example/,
    ],
    [
      "an audience not in the client ID list",
      (c) => {
        c.aud = "https://other";
      },
      400,
      "InvalidIdentityToken",
      /^Incorrect token audience$/,
    ],
    [
      "exp more than five minutes past",
      (c) => {
        c.exp = Math.floor(now / 1000) - 400;
      },
      400,
      "ExpiredTokenException",
      /^Token expired: current date\/time \d+ must be before the expiration date\/time\d+$/,
    ],
    ["no exp", (c) => void delete c.exp, 400, "InvalidIdentityToken"],
    ["no sub", (c) => void delete c.sub, 400, "InvalidIdentityToken"],
    [
      "another image digest tag",
      (c) => {
        c["https://aws.amazon.com/tags"] = {
          principal_tags: { ...TAGS.principal_tags, "container.image_digest": ["sha256:evil"] },
        };
      },
      403,
      "AccessDenied",
      /^Not authorized to perform sts:AssumeRoleWithWebIdentity$/,
    ],
    [
      "no support attribute tag",
      (c) => {
        c["https://aws.amazon.com/tags"] = { principal_tags: { "container.image_digest": [DIGEST] } };
      },
      403,
      "AccessDenied",
    ],
    ["no tags claim at all", (c) => void delete c["https://aws.amazon.com/tags"], 403, "AccessDenied"],
    [
      "a tag value that is not a one-element array",
      (c) => {
        c["https://aws.amazon.com/tags"] = { principal_tags: { "container.image_digest": DIGEST } };
      },
      403,
      "IDPRejectedClaim",
    ],
    [
      "a tag value with a character AWS refuses",
      (c) => {
        c["https://aws.amazon.com/tags"] = { principal_tags: { "container.image_digest": ["a<b"] } };
      },
      403,
      "IDPRejectedClaim",
    ],
    [
      "a tags claim that is not an object",
      (c) => {
        c["https://aws.amazon.com/tags"] = "x";
      },
      403,
      "IDPRejectedClaim",
    ],
    [
      "transitive keys that are not tags",
      (c) => {
        c["https://aws.amazon.com/tags"] = { ...TAGS, transitive_tag_keys: ["nope"] };
      },
      403,
      "IDPRejectedClaim",
    ],
  ];
  it.each(claimRows)("refuses a token with %s", async (_name, edit, status, code, message) => {
    const token = await issuer.mint({ aud: AUD, "https://aws.amazon.com/tags": TAGS }, edit);
    expectError(await webIdentity(undefined, token), status, code, message);
  });

  it.each<[string, () => Promise<string>]>([
    [
      "a signature by a key not in the JWKS",
      () => issuer.mint({ aud: AUD, "https://aws.amazon.com/tags": TAGS }, undefined, issuer.foreignKey),
    ],
    [
      "a tampered payload",
      async () => {
        const [h, , s] = (await issuer.mint({ aud: AUD })).split(".");
        const payload = Buffer.from(JSON.stringify({ iss: issuer.url, aud: AUD, sub: "x", exp: 9e9 })).toString(
          "base64url",
        );
        return `${h}.${payload}.${s}`;
      },
    ],
    [
      "alg none",
      async () => {
        const header = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");
        const payload = Buffer.from(JSON.stringify({ iss: issuer.url, aud: AUD, sub: "x", exp: 9e9 })).toString(
          "base64url",
        );
        return `${header}.${payload}.`;
      },
    ],
    ["not a JWT", async () => "not-a-jwt"],
  ])("refuses %s as InvalidIdentityToken", async (_name, token) => {
    expectError(await webIdentity(undefined, await token()), 400, "InvalidIdentityToken");
  });

  it("answers IDPCommunicationError when the provider's keys cannot be fetched", async () => {
    const token = await issuer.mint({ aud: AUD }, (c) => {
      c.iss = "http://127.0.0.1:9/unreachable";
    });
    expectError(await webIdentity(undefined, token), 400, "IDPCommunicationError");
  });

  const paramRows: Array<[string, (f: Record<string, string>) => void, number, string, RegExp?]> = [
    [
      "an unknown role",
      (f) => {
        f.RoleArn = `arn:aws:iam::${ACCOUNT}:role/nope`;
      },
      403,
      "AccessDenied",
    ],
    [
      "no RoleArn",
      (f) => void delete f.RoleArn,
      400,
      "ValidationError",
      /Value null at 'roleArn' failed to satisfy constraint: Member must not be null/,
    ],
    [
      "a one-character session name",
      (f) => {
        f.RoleSessionName = "a";
      },
      400,
      "ValidationError",
      /'roleSessionName'/,
    ],
    [
      "a session name with a space",
      (f) => {
        f.RoleSessionName = "a b";
      },
      400,
      "ValidationError",
      /regular expression pattern/,
    ],
    [
      "DurationSeconds below 900",
      (f) => {
        f.DurationSeconds = "899";
      },
      400,
      "ValidationError",
      /greater than or equal to 900/,
    ],
    [
      "DurationSeconds above the role's maximum",
      (f) => {
        f.DurationSeconds = "7201";
      },
      400,
      "ValidationError",
      /^The requested DurationSeconds exceeds the MaxSessionDuration set for this role\.$/,
    ],
    [
      "DurationSeconds that is not a number",
      (f) => {
        f.DurationSeconds = "1h";
      },
      400,
      "ValidationError",
    ],
    [
      "a Policy that is not JSON",
      (f) => {
        f.Policy = "{";
      },
      400,
      "MalformedPolicyDocument",
    ],
    [
      "a Policy with a Principal",
      (f) => {
        f.Policy = JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "*", Resource: "*" }] });
      },
      400,
      "MalformedPolicyDocument",
    ],
    [
      "another Version",
      (f) => {
        f.Version = "2012-01-01";
      },
      400,
      "InvalidAction",
    ],
    [
      "an unknown Action",
      (f) => {
        f.Action = "GetCallerIdentity";
      },
      400,
      "InvalidAction",
      /^Could not find operation GetCallerIdentity for version 2011-06-15$/,
    ],
  ];
  it.each(paramRows)("refuses %s", async (_name, edit, status, code, message) => {
    expectError(await webIdentity(edit), status, code, message);
  });

  it("honours DurationSeconds within the role's maximum", async () => {
    const res = await webIdentity((f) => {
      f.DurationSeconds = "7200";
    });
    expect(xmlText(res.body, "Expiration")).toBe(new Date(now + 7200_000).toISOString().replace(/\.\d{3}Z$/, "Z"));
    expect(sts.requests.at(-1)).toMatchObject({ durationSeconds: 7200, status: 200 });
  });

  it("defaults to at most the role's maximum session when no duration is asked", async () => {
    const res = await webIdentity((f) => {
      f.RoleArn = SHORT_ROLE;
    });
    expect(xmlText(res.body, "Expiration")).toBe(new Date(now + 900_000).toISOString().replace(/\.\d{3}Z$/, "Z"));
  });
});

function assumeRoleForm(extra: Record<string, string> = {}): Record<string, string> {
  return { Action: "AssumeRole", Version: "2011-06-15", RoleArn: ROLE, RoleSessionName: "broker-1", ...extra };
}

async function signedAssumeRole(
  form: Record<string, string>,
  options: Partial<Parameters<typeof sign>[2]> = {},
  tamper?: (init: { headers: Record<string, string>; body: string }) => void,
): Promise<RawResponse> {
  const body = new URLSearchParams(form).toString();
  const headers = await sign(
    sts.endpoint,
    { method: "POST", path: "/", headers: { ...FORM }, body },
    { ...USER, service: "sts", signingDate: new Date(now), ...options },
  );
  const init = { headers, body };
  tamper?.(init);
  return send(sts.endpoint, { method: "POST", path: "/", headers: init.headers, body: init.body });
}

describe("AssumeRole", () => {
  it("issues credentials to a caller whose SigV4 signature verifies, with request tags", async () => {
    const res = await signedAssumeRole(assumeRoleForm({ "Tags.member.1.Key": "team", "Tags.member.1.Value": "data" }));
    // The trust policy allows AssumeRole but not TagSession for the user.
    expectError(
      res,
      403,
      "AccessDenied",
      new RegExp(`^User: ${USER.arn} is not authorized to perform: sts:TagSession on resource: ${ROLE}$`),
    );
    const plain = await signedAssumeRole(assumeRoleForm());
    expect(plain.status).toBe(200);
    expect(xmlText(plain.body, "Arn")).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/reader/broker-1`);
  });

  const rows: Array<
    [
      string,
      Partial<Parameters<typeof sign>[2]>,
      ((i: { headers: Record<string, string>; body: string }) => void) | undefined,
      number,
      string,
      RegExp?,
    ]
  > = [
    [
      "no Authorization header",
      {},
      (i) => void delete i.headers.authorization,
      403,
      "MissingAuthenticationToken",
      /^Request is missing Authentication Token$/,
    ],
    [
      "a wrong secret",
      { secretAccessKey: "wrong" },
      undefined,
      403,
      "SignatureDoesNotMatch",
      /^The request signature we calculated does not match/,
    ],
    ["an unknown access key", { accessKeyId: "AKIAUNKNOWN000000000" }, undefined, 403, "InvalidClientTokenId"],
    [
      "a body changed after signing",
      {},
      (i) => {
        i.body = i.body.replace("broker-1", "broker-2");
      },
      403,
      "SignatureDoesNotMatch",
    ],
    [
      "a signed header changed after signing",
      {},
      (i) => {
        i.headers["content-type"] = "application/x-www-form-urlencoded";
      },
      403,
      "SignatureDoesNotMatch",
    ],
    [
      "a signature 20 minutes old",
      { signingDate: new Date(now - 20 * 60_000) },
      undefined,
      403,
      "SignatureDoesNotMatch",
      /^Signature expired/,
    ],
    ["another region", { region: "eu-west-1" }, undefined, 403, "SignatureDoesNotMatch", /region/],
    ["another service", { service: "s3" }, undefined, 403, "SignatureDoesNotMatch", /service/],
    [
      "a malformed Authorization header",
      {},
      (i) => {
        i.headers.authorization = "AWS4-HMAC-SHA256 Credential=x";
      },
      400,
      "IncompleteSignature",
    ],
  ];
  it.each(rows)("refuses a request with %s", async (_name, options, tamper, status, code, message) => {
    expectError(await signedAssumeRole(assumeRoleForm(), options, tamper), status, code, message);
  });

  it("checks sts:ExternalId conditions", async () => {
    expectError(await signedAssumeRole(assumeRoleForm({ RoleArn: EXTERNAL_ROLE })), 403, "AccessDenied");
    const ok = await signedAssumeRole(assumeRoleForm({ RoleArn: EXTERNAL_ROLE, ExternalId: "partner-42" }));
    expect(ok.status).toBe(200);
  });

  it("lets a session it issued call AssumeRole with its token (role chaining), and refuses it once expired", async () => {
    const first = await webIdentity();
    const session = sts.issued.get(xmlText(first.body, "AccessKeyId")!)!;
    const asSession = {
      accessKeyId: session.accessKeyId,
      secretAccessKey: session.secretAccessKey,
      sessionToken: session.sessionToken,
    };
    expect((await signedAssumeRole(assumeRoleForm(), asSession)).status).toBe(200);
    expectError(
      await signedAssumeRole(assumeRoleForm(), asSession, (i) => void delete i.headers["x-amz-security-token"]),
      403,
      "InvalidClientTokenId",
    );
    expectError(
      await signedAssumeRole(assumeRoleForm(), { ...asSession, sessionToken: "forged" }),
      403,
      "InvalidClientTokenId",
    );
    const saved = now;
    now = session.expiresAt + 1;
    try {
      expectError(
        await signedAssumeRole(assumeRoleForm(), { ...asSession, signingDate: new Date(now) }),
        403,
        "ExpiredToken",
      );
    } finally {
      now = saved;
    }
  });
});

describe("faults", () => {
  it("answers injected errors in AWS's format, then recovers", async () => {
    sts.failNext({ status: 400, code: "Throttling", message: "Rate exceeded", count: 2 });
    expectError(await webIdentity(), 400, "Throttling", /^Rate exceeded$/);
    expectError(await webIdentity(), 400, "Throttling");
    expect((await webIdentity()).status).toBe(200);
    sts.failNext({ status: 503, code: "ServiceUnavailable" });
    const res = await webIdentity();
    expect(xmlText(res.body, "Type")).toBe("Receiver");
    sts.failNext({ status: 500, code: "InternalFailure", count: 5 });
    sts.clearFaults();
    expect((await webIdentity()).status).toBe(200);
  });

  it("defaults an injected error's code from its status, records it as a fault, and keeps headers", async () => {
    sts.failNext({ status: 429, headers: { "retry-after": "1" } });
    const res = await webIdentity();
    expectError(res, 429, "Throttling", /^Injected fault\.$/);
    expect(res.headers["retry-after"]).toBe("1");
    expect(sts.requests.at(-1)).toMatchObject({ status: 429, error: "Throttling", fault: true });
    sts.failNext({ status: 503, body: "<html>gateway</html>" });
    expect(await webIdentity()).toMatchObject({ status: 503, body: "<html>gateway</html>" });
  });

  it("delayNext holds the next request back", async () => {
    sts.delayNext(300);
    const started = Date.now();
    expect((await webIdentity()).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("records requests with AWS's fields, the HTTP basics and no token", async () => {
    const res = await webIdentity();
    expect(sts.requests.at(-1)).toMatchObject({
      method: "POST",
      path: "/",
      action: "AssumeRoleWithWebIdentity",
      status: res.status,
      error: undefined,
      fault: false,
    });
    expect(JSON.stringify(sts.requests.at(-1))).not.toMatch(/eyJ/);
  });

  it("refuses a configuration it cannot evaluate as AWS would", async () => {
    await expect(
      startLocalAwsSts({ roles: [{ arn: "arn:aws:iam::1:role/x", trustPolicy: { Statement: [] } }] }),
    ).rejects.toThrow(InvalidOptionError);
    await expect(
      startLocalAwsSts({
        roles: [
          {
            arn: ROLE,
            trustPolicy: { Statement: { Effect: "Allow", Principal: "*", Action: "*", NotAction: "x" } as never },
          },
        ],
      }),
    ).rejects.toThrow(/NotAction/);
    await expect(
      startLocalAwsSts({ roles: [], oidcProviders: [{ url: "http://evil.example", clientIds: ["a"] }] }),
    ).rejects.toThrow(/https/);
  });
});

describe("AssumeRole with SourceIdentity", () => {
  it("needs sts:SetSourceIdentity in the trust policy, as AWS does", async () => {
    const res = await signedAssumeRole(assumeRoleForm({ SourceIdentity: "app-1" }));
    expectError(
      res,
      403,
      "AccessDenied",
      new RegExp(`^User: ${USER.arn} is not authorized to perform: sts:SetSourceIdentity on resource: ${ROLE}$`),
    );
  });

  it("records and returns the source identity, and evaluates sts:SourceIdentity conditions", async () => {
    const res = await signedAssumeRole(assumeRoleForm({ RoleArn: SOURCE_ROLE, SourceIdentity: "app-1" }));
    expect(res.status).toBe(200);
    expect(xmlText(res.body, "SourceIdentity")).toBe("app-1");
    expect(sts.issued.get(xmlText(res.body, "AccessKeyId")!)?.sourceIdentity).toBe("app-1");
    expect(sts.requests.at(-1)).toMatchObject({ action: "AssumeRole", sourceIdentity: "app-1", status: 200 });
    const other = await signedAssumeRole(assumeRoleForm({ RoleArn: SOURCE_ROLE, SourceIdentity: "ops-1" }));
    expectError(other, 403, "AccessDenied");
    // A condition on sts:SourceIdentity fails without one: how a role requires it.
    const none = await signedAssumeRole(assumeRoleForm({ RoleArn: SOURCE_ROLE }));
    expectError(none, 403, "AccessDenied");
    const plain = await signedAssumeRole(assumeRoleForm());
    expect(xmlText(plain.body, "SourceIdentity")).toBeUndefined();
  });

  it.each([
    ["one character", "a", /length greater than or equal to 2/],
    ["65 characters", "a".repeat(65), /length less than or equal to 64/],
    ["the reserved aws: prefix", "aws:app", /regular expression pattern/],
    ["a space", "app 1", /regular expression pattern/],
  ])("refuses a source identity of %s: ValidationError", async (_name, value, message) => {
    const res = await signedAssumeRole(assumeRoleForm({ RoleArn: SOURCE_ROLE, SourceIdentity: value }));
    expectError(res, 400, "ValidationError", message);
  });
});
