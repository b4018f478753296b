import { ConfspaceError, InvalidOptionError } from "@confspace/core";
import { describe, expect, it } from "vitest";
import { AttestationVerifierOptionError } from "./errors.js";
import type { AttestationVerifierOptions, VerificationPolicy } from "./options.js";
import { createAttestationVerifier } from "./verifier.js";

const FINGERPRINT = "ab".repeat(32);
const DIGEST = `sha256:${"e4".repeat(32)}`;
const SA = "workload@p.iam.gserviceaccount.com";
const base = { audience: "https://relying-party.example", policy: { imageDigests: [DIGEST] } };

type Loose = Partial<Omit<AttestationVerifierOptions, "policy">> & {
  policy?: Partial<VerificationPolicy> & Record<string, unknown>;
} & Record<string, unknown>;

/** `options` over {@link base}; a `policy` is merged over the base policy (which pins the digest). */
function create(options: Loose) {
  const policy = options.policy === undefined ? base.policy : { ...base.policy, ...options.policy };
  return createAttestationVerifier({ ...base, ...options, policy } as AttestationVerifierOptions);
}

function optionError(thunk: () => unknown): AttestationVerifierOptionError {
  try {
    thunk();
  } catch (error) {
    return error as AttestationVerifierOptionError;
  }
  return expect.unreachable("the options should have been refused");
}

describe("createAttestationVerifier options", () => {
  const refused: [string, Loose, option: string, RegExp][] = [
    ["no audience", { audience: "" }, "audience", /options\.audience/],
    [
      "GCP_SHIELDED_VM allowed",
      { policy: { hardwareModels: ["GCP_AMD_SEV", "GCP_SHIELDED_VM" as never] } },
      "policy.hardwareModels[1]",
      /GCP_SHIELDED_VM/,
    ],
    ["empty digest allow-list", { policy: { imageDigests: [] } }, "policy.imageDigests", /policy\.imageDigests/],
    [
      "digest allow-list as a string",
      { policy: { imageDigests: "sha256:aa" as unknown as string[] } },
      "policy.imageDigests",
      /imageDigests/,
    ],
    [
      "empty signature key allow-list",
      { policy: { imageSignatures: { keyIds: [], threshold: 1 } } },
      "policy.imageSignatures.keyIds",
      /imageSignatures\.keyIds/,
    ],
    [
      "a signature threshold above the number of keys",
      { policy: { imageSignatures: { keyIds: ["key-1"], threshold: 2 } } },
      "policy.imageSignatures.threshold",
      /at most the number of keyIds/,
    ],
    [
      "the former imageSignatureKeyIds",
      { policy: { imageSignatureKeyIds: ["key-1"] } },
      "policy.imageSignatureKeyIds",
      /imageSignatures/,
    ],
    [
      "a digest with a trailing space",
      { policy: { imageDigests: [`${DIGEST} `] } },
      "policy.imageDigests[0]",
      /whitespace/,
    ],
    [
      "a policy audience that is not the verifier's",
      { policy: { audience: "https://other.example" } },
      "policy.audience",
      /options\.audience/,
    ],
    [
      "support attributes as a string",
      { policy: { supportAttributes: "STABLE" as never } },
      "policy.supportAttributes",
      /supportAttributes/,
    ],
    ["fractional minSwVersion", { policy: { minSwVersion: 1.5 } }, "policy.minSwVersion", /minSwVersion/],
    ["http issuer off loopback", { issuer: "http://issuer.example" }, "issuer", /options\.issuer must be https/],
    ["issuer with credentials", { issuer: "https://u:p@issuer.example" }, "issuer", /credentials/],
    ["issuer with a query", { issuer: "https://issuer.example?x=1" }, "issuer", /query/],
    ["ftp jwksUri", { jwksUri: "ftp://127.0.0.1/jwks" }, "jwksUri", /options\.jwksUri/],
    ["unknown tokenType", { tokenType: "AWS_PRINCIPALTAGS" as "OIDC" }, "tokenType", /tokenType/],
    ["PKI without fingerprint", { tokenType: "PKI" }, "pkiRootFingerprint", /pkiRootFingerprint/],
    [
      "PKI with a SHA-1 fingerprint",
      { tokenType: "PKI", pkiRootFingerprint: "B9:51:20:74:2C:24:E3:AA:34:04:2E:1C:3B:A3:AA:D2:8B:21:23:21" },
      "pkiRootFingerprint",
      /SHA-256/,
    ],
    [
      "fingerprint on an OIDC verifier",
      { pkiRootFingerprint: FINGERPRINT },
      "pkiRootFingerprint",
      /requires tokenType "PKI"/,
    ],
    [
      "jwksUri on a PKI verifier",
      { tokenType: "PKI", pkiRootFingerprint: FINGERPRINT, jwksUri: "https://k.example/jwks" },
      "jwksUri",
      /jwksUri/,
    ],
    ["negative tolerance", { clockToleranceMs: -1 }, "clockToleranceMs", /clockToleranceMs/],
    ["zero maxTokenBytes", { maxTokenBytes: 0 }, "maxTokenBytes", /maxTokenBytes/],
    ["string requireNonce", { requireNonce: "yes" as unknown as boolean }, "requireNonce", /requireNonce/],
    ["string allowDebug", { policy: { allowDebug: "true" as unknown as boolean } }, "policy.allowDebug", /allowDebug/],
    ["a clock that is neither", { clock: 5 as unknown as () => number }, "clock", /clock/],
    // null is a value, not a missing option: it must not quietly take the default.
    ["a null issuer", { issuer: null as never }, "issuer", /^options\.issuer /],
    ["a null tokenType", { tokenType: null as never }, "tokenType", /must be "OIDC" or "PKI"/],
    ["a null clock", { clock: null as never }, "clock", /must be a function returning ms or an object with now\(\)/],
    ["a clock array with now", { clock: Object.assign([], { now: () => 0 }) as never }, "clock", /clock/],
    ["a null fetch", { fetch: null as never }, "fetch", /options\.fetch must be a function/],
    ["a null jwksUri", { jwksUri: null as never }, "jwksUri", /^options\.jwksUri /],
    // Unknown keys: a misspelt option from a JS or JSON config must not switch a check off.
    ["policy.imageDigest (singular)", { policy: { imageDigest: [DIGEST] } }, "policy.imageDigest", /imageDigests/],
    [
      "policy.serviceAccount (singular)",
      { policy: { serviceAccount: [SA] } },
      "policy.serviceAccount",
      /not a policy field/,
    ],
    ["an unknown option", { audiences: ["x"] }, "audiences", /options\.audiences is not an option/],
    ["requireNonces for requireNonce", { requireNonces: true }, "requireNonces", /requireNonces/],
  ];
  it.each(refused)("refuses %s, naming the option", (_name, options, option, message) => {
    const error = optionError(() => create(options));
    expect(error).toBeInstanceOf(AttestationVerifierOptionError);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toBeInstanceOf(ConfspaceError);
    expect(error).toMatchObject({ code: "ERR_INVALID_OPTION", option });
    expect(error.message).toMatch(message);
  });

  it("refuses options or a policy that are not an object", () => {
    expect(optionError(() => createAttestationVerifier(null as never))).toMatchObject({ option: "options" });
    const arrayPolicy = optionError(() => createAttestationVerifier({ ...base, policy: [] as never }));
    expect(arrayPolicy).toMatchObject({ option: "policy", message: "policy must be an object" });
  });

  const accepted: [string, Loose][] = [
    ["defaults (the real issuer)", {}],
    ["http on 127.0.0.1", { issuer: "http://127.0.0.1:8080" }],
    ["http on 127.8.9.10", { issuer: "http://127.8.9.10" }],
    ["http on [::1]", { issuer: "http://[::1]:8080" }],
    ["http on localhost", { issuer: "http://localhost:8080" }],
    [
      "fingerprint with colons, upper case",
      { tokenType: "PKI", pkiRootFingerprint: FINGERPRINT.toUpperCase().replace(/(..)(?!$)/g, "$1:") },
    ],
    ["fingerprint as lower-case hex", { tokenType: "PKI", pkiRootFingerprint: FINGERPRINT }],
    ["an empty support-attribute requirement", { policy: { supportAttributes: [] } }],
    ["a clock object", { clock: { now: () => 0 } }],
    ["the verifier's own audience in the policy", { policy: { audience: "https://relying-party.example" } }],
    ["a known option set to undefined", { issuer: undefined, policy: { projectIds: undefined } }],
  ];
  it.each(accepted)("accepts %s", (_name, options) => {
    expect(typeof create(options).verify).toBe("function");
  });

  it("refuses http on a host that only starts with 127", () => {
    expect(optionError(() => create({ issuer: "http://127.0.0.1.nip.io" }))).toMatchObject({ option: "issuer" });
  });
});

describe("option value checks, message by message", () => {
  const refused: [name: string, options: Loose, message: string][] = [
    ["an audience that is not a string", { audience: 7 as never }, "options.audience must be a non-empty string"],
    [
      "NaN ms",
      { clockToleranceMs: Number.NaN },
      "options.clockToleranceMs must be a finite number of milliseconds >= 0",
    ],
    [
      "Infinity ms",
      { maxStaleMs: Number.POSITIVE_INFINITY },
      "options.maxStaleMs must be a finite number of milliseconds >= 0",
    ],
    [
      "ms as a string",
      { jwksCooldownMs: "30000" as never },
      "options.jwksCooldownMs must be a finite number of milliseconds >= 0",
    ],
    ["a fractional byte count", { maxTokenBytes: 1.5 }, "options.maxTokenBytes must be a positive integer"],
    ["a negative byte count", { maxResponseBytes: -1 }, "options.maxResponseBytes must be a positive integer"],
    ["an unsafe integer", { httpTimeoutMs: 2 ** 53 }, "options.httpTimeoutMs must be a positive integer"],
    ["a byte count as a string", { maxTokenBytes: "100" as never }, "options.maxTokenBytes must be a positive integer"],
    ["requireNonce as 1", { requireNonce: 1 as never }, "options.requireNonce must be a boolean"],
    [
      "maxTokenAgeMs below 0",
      { maxTokenAgeMs: -1 },
      "options.maxTokenAgeMs must be a finite number of milliseconds >= 0",
    ],
    [
      "jwksCacheMaxAgeMs as NaN",
      { jwksCacheMaxAgeMs: Number.NaN },
      "options.jwksCacheMaxAgeMs must be a finite number of milliseconds >= 0",
    ],
    [
      "jwksUri on a PKI verifier",
      { tokenType: "PKI", pkiRootFingerprint: FINGERPRINT, jwksUri: "https://k.example/jwks" },
      'options.jwksUri is not used with tokenType "PKI"',
    ],
    [
      "fetch that is not a function",
      { fetch: {} as never },
      "options.fetch must be a function (no global fetch found)",
    ],
    [
      "a clock object without now()",
      { clock: { now: 1 } as never },
      "options.clock must be a function returning ms or an object with now()",
    ],
    ["a tokenType in lower case", { tokenType: "oidc" as never }, 'options.tokenType must be "OIDC" or "PKI"'],
    [
      "jwksUri over http off loopback",
      { jwksUri: "http://keys.example/jwks" },
      "options.jwksUri must be https (http is allowed only on loopback: 127.0.0.0/8, ::1, localhost)",
    ],
    ["an issuer that is not a URL", { issuer: "issuer" }, "options.issuer must be an absolute URL"],
    [
      "an unknown option",
      { audiences: ["x"] },
      "options.audiences is not an option (known: audience, issuer, tokenType, pkiRootFingerprint, pkiRootCertificate, jwksUri, policy, requireNonce, clockToleranceMs, maxTokenAgeMs, maxTokenBytes, jwksCacheMaxAgeMs, jwksCooldownMs, maxStaleMs, httpTimeoutMs, maxResponseBytes, clock, fetch)",
    ],
  ];
  it.each(refused)("refuses %s", (_name, options, message) => {
    expect(optionError(() => create(options)).message).toBe(message);
  });

  it("names the options object itself when it is not an object", () => {
    for (const options of [null, [], "x", 7]) {
      expect(optionError(() => createAttestationVerifier(options as never))).toMatchObject({
        option: "options",
        message: "options must be an object",
      });
    }
  });

  it.each([
    ["zero ms", { clockToleranceMs: 0, maxStaleMs: 0, jwksCooldownMs: 0 }],
    ["one byte", { maxTokenBytes: 1 }],
    ["requireNonce false", { requireNonce: false }],
    ["a jwksUri on loopback http", { jwksUri: "http://127.0.0.1:9/jwks" }],
    ["a fetch of its own", { fetch: (async () => Response.json({})) as typeof fetch }],
  ])("accepts %s", (_name, options) => {
    expect(typeof create(options as Loose).verify).toBe("function");
  });
});

describe("the workload pin", () => {
  const withPolicy = (policy: unknown) => () =>
    createAttestationVerifier({ audience: base.audience, policy } as AttestationVerifierOptions);

  const unpinned: [string, unknown, option: string][] = [
    ["no policy", undefined, "policy"],
    ["an empty policy", {}, "policy"],
    [
      "only hardware and support attributes",
      { hardwareModels: ["GCP_INTEL_TDX"], supportAttributes: ["STABLE"] },
      "policy",
    ],
    ["project ids without service accounts", { projectIds: ["my-project"] }, "policy"],
    ["project numbers without service accounts", { projectNumbers: ["1"] }, "policy"],
    ["service accounts without a project", { serviceAccounts: [SA] }, "policy"],
    ["allowAnyWorkload: false", { allowAnyWorkload: false }, "policy"],
    [
      "allowAnyWorkload together with a digest",
      { allowAnyWorkload: true, imageDigests: [DIGEST] },
      "policy.allowAnyWorkload",
    ],
    ["allowAnyWorkload as a string", { allowAnyWorkload: "true" }, "policy.allowAnyWorkload"],
  ];
  it.each(unpinned)("refuses %s", (_name, policy, option) => {
    const error = optionError(withPolicy(policy));
    expect(error).toBeInstanceOf(AttestationVerifierOptionError);
    expect(error.option).toBe(option);
    if (option === "policy") expect(error.message).toMatch(/allowAnyWorkload: true/);
  });

  const pinned: [string, VerificationPolicy][] = [
    ["image digests", { imageDigests: [DIGEST] }],
    ["image signature key ids", { imageSignatures: { keyIds: ["key-1"], threshold: 1 } }],
    ["project ids with service accounts", { projectIds: ["my-project"], serviceAccounts: [SA] }],
    ["project numbers with service accounts", { projectNumbers: ["1"], serviceAccounts: [SA] }],
    ["the explicit opt-out", { allowAnyWorkload: true }],
  ];
  it.each(pinned)("accepts %s", (_name, policy) => {
    expect(typeof withPolicy(policy)()).toBe("object");
  });
});
