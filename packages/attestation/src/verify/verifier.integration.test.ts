import { createHmac, createPublicKey, generateKeyPairSync, randomUUID } from "node:crypto";
import { type Emulator, startEmulator } from "@confspace/emulator";
import { keyIdFromPublicKey } from "@confspace/policy";
import { POLICY_CASES, type PolicyCase, policyCasePolicy, preparePolicyClaims } from "@confspace/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signRs256 } from "../../test/verify/test-issuer.js";
import {
  decode,
  del,
  edit,
  encode,
  expectRejected,
  type Json,
  type Mutation,
  parts,
  set,
  startTrap,
} from "../../test/verify/test-tokens.js";
import { DEFAULT_TOKEN_AUDIENCE } from "../claims.js";
import { AttestationPolicyError, type PolicyCheck } from "./errors.js";
import type { AttestationVerifier, AttestationVerifierOptions } from "./options.js";
import { createAttestationVerifier } from "./verifier.js";

const AUDIENCE = "https://relying-party.example";
// Fixed for the whole file: the emulator mints and the verifier checks at the same instant.
const NOW = Date.now();
const NOW_S = Math.floor(NOW / 1000);
// 32 bytes whose base64 and base64url encodings differ (they contain + and /).
const NONCE_BYTES = Buffer.from("fbff3e0123456789abcdef0123456789abcdef0123456789abcdefabcdef0123", "hex");
const NONCE = NONCE_BYTES.toString("base64url");
/** For tests about keys, not workloads. */
const ANY = { allowAnyWorkload: true } as const;

let emu: Emulator;
let verifier: AttestationVerifier;
let trap: Awaited<ReturnType<typeof startTrap>>;
let good: Json & { submods: Record<string, Json>; swversion: string[]; google_service_accounts: string[] };
let publicPem: string;
let publicJwkJson: string;
const attacker = generateKeyPairSync("rsa", { modulusLength: 2048 });

/** A verifier of the emulator's tokens; its policy pins the good digest unless `options.policy` says otherwise. */
function verifierFor(options: Partial<AttestationVerifierOptions> = {}): AttestationVerifier {
  const policy = { imageDigests: [good.submods.container!.image_digest as string], ...options.policy };
  return createAttestationVerifier({ issuer: emu.issuer, audience: AUDIENCE, clock: () => NOW, ...options, policy });
}

beforeAll(async () => {
  emu = await startEmulator({ now: () => NOW, writeTokenFile: false });
  good = emu.claims({ audience: AUDIENCE }) as typeof good;
  const { container, gce } = good.submods as Record<string, Record<string, string>>;
  verifier = verifierFor({
    policy: {
      imageDigests: [container!.image_digest!],
      projectIds: [gce!.project_id!],
      projectNumbers: [gce!.project_number!],
      serviceAccounts: [good.google_service_accounts[0]!],
      restartPolicies: [container!.restart_policy! as "Never"],
      minSwVersion: Number(good.swversion[0]),
    },
  });
  trap = await startTrap();
  const jwks = (await (await fetch(emu.jwksUri)).json()) as { keys: Json[] };
  publicJwkJson = JSON.stringify(jwks.keys[0]);
  publicPem = createPublicKey({ key: jwks.keys[0] as never, format: "jwk" })
    .export({ format: "pem", type: "spki" })
    .toString();
});

afterAll(async () => {
  await emu?.stop();
  await trap?.close();
});

interface Mint {
  claims?: Mutation;
  header?: Mutation;
  nonces?: string[];
  audience?: string;
}

/** A good token (issued a minute ago for {@link AUDIENCE}) with at most the given mutations. */
function mint(options: Mint = {}): Promise<string> {
  return emu.mintToken({
    audience: options.audience ?? AUDIENCE,
    issuedAt: NOW_S - 60,
    ...(options.nonces ? { nonces: options.nonces } : {}),
    ...(options.claims ? { mutateClaims: options.claims } : {}),
    ...(options.header ? { mutateHeader: options.header } : {}),
  });
}

/** A good payload re-signed with HS256, the HMAC key being `secret` (the RSA public key in some form). */
async function hs256(secret: string): Promise<string> {
  const [h, p] = parts(await mint());
  const input = `${encode({ ...decode(h), alg: "HS256" })}.${p}`;
  return `${input}.${createHmac("sha256", Buffer.from(secret)).update(input).digest("base64url")}`;
}

/** A good payload signed by the attacker's key, with `header` merged into the good header. */
async function attackerSigned(header: Json): Promise<string> {
  const [h, p] = parts(await mint());
  return signRs256({ ...decode(h), ...header }, decode(p), attacker.privateKey);
}

const CS = "submods.confidential_space.support_attributes";
const DIGEST = "submods.container.image_digest";
const otherChar = (s: string) => `${s.slice(0, -1)}${s.endsWith("0") ? "1" : "0"}`;

type Row = [name: string, token: Mint | (() => Promise<string>), check: PolicyCheck, claim?: string];
// One mutation of a good emulator token per row.
const rows: Row[] = [
  // header, algorithm, signature, shape
  [
    "alg none with an empty signature",
    async () => `${encode({ ...decode(parts(await mint())[0]), alg: "none" })}.${parts(await mint())[1]}.`,
    "algorithm",
    "alg",
  ],
  ["alg none over an RS256 signature", { header: set("alg", "none") }, "algorithm", "alg"],
  ["alg RS512", { header: set("alg", "RS512") }, "algorithm", "alg"],
  ["HS256 keyed with the RSA public key PEM", () => hs256(publicPem), "algorithm", "alg"],
  ["HS256 keyed with the RSA public key JWK", () => hs256(publicJwkJson), "algorithm", "alg"],
  [
    "the signing key in a jwk header",
    () => attackerSigned({ jwk: attacker.publicKey.export({ format: "jwk" }) }),
    "header",
    "jwk",
  ],
  ["jku pointing at a local server", () => attackerSigned({ jku: "http://127.0.0.1:9/jwks" }), "header", "jku"],
  ["x5u pointing at a local server", () => attackerSigned({ x5u: "http://127.0.0.1:9/cert.pem" }), "header", "x5u"],
  [
    "x5c on an OIDC verifier",
    {
      header: (h) => {
        h.x5c = emu.pkiChain.x5c;
      },
    },
    "header",
    "x5c",
  ],
  ["a crit header", { header: set("crit", ["exp"]) }, "header", "crit"],
  ["no kid", { header: del("kid") }, "header", "kid"],
  ["an unknown kid", { header: set("kid", "unknown-kid") }, "unknown_key", "kid"],
  ["a signature by another key under the emulator's kid", () => attackerSigned({}), "signature"],
  [
    "a payload changed after signing",
    async () => {
      const [h, p, s] = parts(await mint());
      return `${h}.${encode({ ...decode(p), sub: "x" })}.${s}`;
    },
    "signature",
  ],
  ["not a JWS", async () => "not-a-token", "format"],
  [
    "two parts",
    async () =>
      parts(await mint())
        .slice(0, 2)
        .join("."),
    "format",
  ],
  [
    "a header that is not JSON",
    async () => {
      const [, p, s] = parts(await mint());
      return `${Buffer.from("{nope").toString("base64url")}.${p}.${s}`;
    },
    "format",
  ],
  ["an oversized token (a 33 KiB claim)", { claims: set("padding", "x".repeat(33 * 1024)) }, "size"],
  // issuer, audience
  ["the issuer with a trailing slash", { claims: edit("iss", (iss: string) => `${iss}/`) }, "issuer", "iss"],
  ["the issuer in other case", { claims: edit("iss", (iss: string) => iss.toUpperCase()) }, "issuer", "iss"],
  ["Google's issuer", { claims: set("iss", "https://confidentialcomputing.googleapis.com") }, "issuer", "iss"],
  ["the default STS audience", { audience: DEFAULT_TOKEN_AUDIENCE }, "audience", "aud"],
  [
    "an audience array with an extra entry",
    { claims: set("aud", [AUDIENCE, "https://other.example"]) },
    "audience",
    "aud",
  ],
  ["the audience with a trailing slash", { audience: `${AUDIENCE}/` }, "audience", "aud"],
  ["a one-element array of another audience", { claims: set("aud", ["https://other.example"]) }, "audience", "aud"],
  // time
  ["expired beyond the tolerance", { claims: set("exp", NOW_S - 31) }, "expired", "exp"],
  ["exp exactly at the tolerance", { claims: set("exp", NOW_S - 30) }, "expired", "exp"],
  ["nbf beyond the tolerance", { claims: set("nbf", NOW_S + 31) }, "not_yet_valid", "nbf"],
  ["issued more than an hour ago", { claims: set("iat", NOW_S - 3600 - 31) }, "too_old", "iat"],
  ["iat in the future beyond the tolerance", { claims: set("iat", NOW_S + 31) }, "issued_in_future", "iat"],
  ["no exp", { claims: del("exp") }, "missing_claim", "exp"],
  ["no iat", { claims: del("iat") }, "missing_claim", "iat"],
  ["no nbf", { claims: del("nbf") }, "missing_claim", "nbf"],
  ["exp as a string", { claims: set("exp", String(NOW_S + 600)) }, "claim_type", "exp"],
  ["no sub", { claims: del("sub") }, "missing_claim", "sub"],
  // workload policy
  ['support_attributes "UNSTABLE" as a string', { claims: set(CS, "UNSTABLE") }, "claim_type", CS],
  ['support_attributes ["USABLE"]', { claims: set(CS, ["USABLE"]) }, "support_attributes", CS],
  ["no support_attributes", { claims: del(CS) }, "support_attributes", CS],
  ['dbgstat "enabled"', { claims: set("dbgstat", "enabled") }, "dbgstat", "dbgstat"],
  ['swname "GCE"', { claims: set("swname", "GCE") }, "swname", "swname"],
  ['hwmodel "GCP_SHIELDED_VM"', { claims: set("hwmodel", "GCP_SHIELDED_VM") }, "hwmodel", "hwmodel"],
  ["no hwmodel", { claims: del("hwmodel") }, "missing_claim", "hwmodel"],
  ["secboot false", { claims: set("secboot", false) }, "secboot", "secboot"],
  ['secboot "true" as a string', { claims: set("secboot", "true") }, "claim_type", "secboot"],
  ["the digest off by one character", { claims: edit(DIGEST, otherChar) }, "image_digest", DIGEST],
  ["the digest in upper case", { claims: edit(DIGEST, (d: string) => d.toUpperCase()) }, "image_digest", DIGEST],
  [
    "swversion below the minimum",
    { claims: edit("swversion", ([v]: string[]) => [String(Number(v) - 1)]) },
    "swversion",
    "swversion",
  ],
  ["swversion as a string", { claims: edit("swversion", ([v]: string[]) => v) }, "claim_type", "swversion"],
  [
    "swversion with two entries",
    { claims: edit("swversion", ([v]: string[]) => [v, "999999"]) },
    "claim_type",
    "swversion",
  ],
  [
    "another project id",
    { claims: set("submods.gce.project_id", "other-project") },
    "project",
    "submods.gce.project_id",
  ],
  [
    "another project number",
    { claims: set("submods.gce.project_number", "1") },
    "project",
    "submods.gce.project_number",
  ],
  [
    "the project number as a number",
    { claims: edit("submods.gce.project_number", Number) },
    "claim_type",
    "submods.gce.project_number",
  ],
  [
    "a service account not allowed",
    { claims: set("google_service_accounts", ["other@p.iam.gserviceaccount.com"]) },
    "service_account",
    "google_service_accounts",
  ],
  [
    "service accounts as a string",
    { claims: edit("google_service_accounts", ([a]: string[]) => a) },
    "claim_type",
    "google_service_accounts",
  ],
  [
    "a restart policy not allowed",
    { claims: set("submods.container.restart_policy", "Always") },
    "restart_policy",
    "submods.container.restart_policy",
  ],
  ["submods as a string", { claims: set("submods", "{}") }, "claim_type", "submods"],
  ["eat_nonce as a number when none is expected", { claims: set("eat_nonce", 42) }, "claim_type", "eat_nonce"],
  // claims no policy field reads are type-checked too
  [
    "an env value as a number",
    { claims: set("submods.container.env.PORT", 8080) },
    "claim_type",
    "submods.container.env.PORT",
  ],
  ["jti as a number", { claims: set("jti", 7) }, "claim_type", "jti"],
  ["oemid as a string", { claims: set("oemid", "11129") }, "claim_type", "oemid"],
  ["gce.zone as a number", { claims: set("submods.gce.zone", 1) }, "claim_type", "submods.gce.zone"],
];

describe("OIDC tokens from the emulator", () => {
  it("accepts the good token and returns its claims", async () => {
    const claims = await verifier.verify(await mint());
    expect(claims).toMatchObject({ iss: emu.issuer, aud: AUDIENCE, swname: "CONFIDENTIAL_SPACE" });
    expect(claims.submods.container?.image_digest).toBe(good.submods.container!.image_digest);
  });

  it.each(rows)("rejects %s", async (_name, token, check, claim) => {
    await expectRejected(
      verifier.verify(typeof token === "function" ? await token() : await mint(token)),
      check,
      claim,
    );
  });

  it("never fetches a jku or x5u URL", async () => {
    await expectRejected(
      verifier.verify(await attackerSigned({ jku: `${trap.url}/jwks`, kid: randomUUID() })),
      "header",
    );
    await expectRejected(
      verifier.verify(await attackerSigned({ x5u: `${trap.url}/c.pem`, kid: randomUUID() })),
      "header",
    );
    await expectRejected(verifier.verify(await attackerSigned({ jku: `${trap.url}/jwks` })), "header");
    expect(trap.requests).toBe(0);
  });

  const accepted: [string, Mint][] = [
    ["the audience as a one-element array", { claims: set("aud", [AUDIENCE]) }],
    ["exp just inside the tolerance", { claims: set("exp", NOW_S - 29) }],
    ["nbf just inside the tolerance", { claims: set("nbf", NOW_S + 29) }],
    ["iat exactly an hour ago", { claims: set("iat", NOW_S - 3600) }],
    ["a nonce nobody asked for", { nonces: [NONCE] }],
    [
      "two service accounts, one allowed",
      { claims: edit("google_service_accounts", (a: string[]) => ["x@p.iam.gserviceaccount.com", ...a]) },
    ],
    ["GCP_INTEL_TDX hardware", { claims: set("hwmodel", "GCP_INTEL_TDX") }],
    ["GCP_AMD_SEV_ES hardware", { claims: set("hwmodel", "GCP_AMD_SEV_ES") }],
  ];
  it.each(accepted)("accepts %s", async (_name, options) => {
    await expect(verifier.verify(await mint(options))).resolves.toBeDefined();
  });
});

describe("policy defaults and switches", () => {
  it("accepts a debug image only with allowDebug and no support-attribute requirement", async () => {
    const debugToken = await mint({
      claims: (c) => {
        set("dbgstat", "enabled")(c);
        del(CS)(c);
      },
    });
    await expectRejected(verifierFor().verify(debugToken), "dbgstat");
    await expectRejected(verifierFor({ policy: { allowDebug: true } }).verify(debugToken), "support_attributes");
    const debug = verifierFor({ policy: { allowDebug: true, supportAttributes: [] } });
    await expect(debug.verify(debugToken)).resolves.toMatchObject({ dbgstat: "enabled" });
  });

  it("still refuses a support_attributes string when no attribute is required", async () => {
    const token = await mint({ claims: set(CS, "STABLE") });
    await expectRejected(verifierFor({ policy: { supportAttributes: [] } }).verify(token), "claim_type", CS);
  });

  it("refuses hardware left out of a custom hardwareModels list", async () => {
    await expectRejected(
      verifierFor({ policy: { hardwareModels: ["GCP_INTEL_TDX"] } }).verify(await mint()),
      "hwmodel",
    );
  });

  it("checks no digest, project or service account with allowAnyWorkload", async () => {
    const token = await mint({
      claims: (c) => {
        set(DIGEST, "sha256:other")(c);
        set("google_service_accounts", [])(c);
      },
    });
    const any = createAttestationVerifier({
      issuer: emu.issuer,
      audience: AUDIENCE,
      clock: () => NOW,
      policy: { allowAnyWorkload: true },
    });
    await expect(any.verify(token)).resolves.toBeDefined();
  });

  it("treats exp exactly now as expired when there is no tolerance", async () => {
    const strict = verifierFor({ clockToleranceMs: 0 });
    await expectRejected(strict.verify(await mint({ claims: set("exp", NOW_S) })), "expired", "exp");
    await expect(strict.verify(await mint({ claims: set("exp", NOW_S + 1) }))).resolves.toBeDefined();
  });

  it("with imageSignatures, needs signatures by at least threshold distinct listed keys", async () => {
    const signature = (keyId: string) => ({
      key_id: keyId,
      signature: "c2ln",
      signature_algorithm: "ECDSA_P256_SHA256",
    });
    const signed = (...keyIds: string[]) =>
      mint({ claims: set("submods.container.image_signatures", keyIds.map(signature)) });
    const verifierWith = (threshold: number) =>
      createAttestationVerifier({
        issuer: emu.issuer,
        audience: AUDIENCE,
        clock: () => NOW,
        policy: { imageSignatures: { keyIds: ["key-a", "key-b", "key-c"], threshold } },
      });
    const anyOne = verifierWith(1);
    const twoOfThree = verifierWith(2);
    const path = "submods.container.image_signatures";
    await expect(anyOne.verify(await signed("key-x", "key-c"))).resolves.toBeDefined();
    await expect(twoOfThree.verify(await signed("key-a", "key-x", "key-c"))).resolves.toBeDefined();
    await expectRejected(twoOfThree.verify(await signed("key-a", "key-x")), "image_signature", path);
    await expectRejected(twoOfThree.verify(await signed("key-b", "key-b")), "image_signature", path);
    await expectRejected(anyOne.verify(await signed("key-x")), "image_signature", path);
    await expectRejected(anyOne.verify(await signed()), "image_signature", path);
    await expectRejected(anyOne.verify(await mint()), "image_signature", path);
    const notAList = await mint({ claims: set(path, signature("key-a")) });
    await expectRejected(anyOne.verify(notAList), "claim_type", path);
  });

  it("reads the time from a clock object's now()", async () => {
    const token = await mint();
    await expect(verifierFor({ clock: { now: () => NOW } }).verify(token)).resolves.toBeDefined();
    // An hour and a half later by that clock the token has expired.
    await expectRejected(verifierFor({ clock: { now: () => NOW + 5_400_000 } }).verify(token), "expired");
  });

  it.each([
    ["NaN", () => Number.NaN],
    ["undefined", () => undefined as unknown as number],
    ["a string", () => String(NOW) as unknown as number],
  ])("fails closed, with an option error, when the clock returns %s", async (_name, clock) => {
    const error = await verifierFor({ clock })
      .verify(await mint())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "ERR_INVALID_OPTION",
      option: "clock",
      message: "options.clock must return a finite number of ms",
    });
  });

  it("refuses a pinned digest the token lacks as a missing claim", async () => {
    await expectRejected(verifier.verify(await mint({ claims: del(DIGEST) })), "missing_claim", DIGEST);
  });

  it("honours a shorter maxTokenAgeMs", async () => {
    const strict = verifierFor({ maxTokenAgeMs: 60_000, clockToleranceMs: 0 });
    await expect(strict.verify(await mint({ claims: set("iat", NOW_S - 60) }))).resolves.toBeDefined();
    await expectRejected(strict.verify(await mint({ claims: set("iat", NOW_S - 61) })), "too_old");
  });

  it("keeps token and claim values out of errors", async () => {
    const secret = `secret-${randomUUID()}`;
    const token = await mint({
      claims: (c) => {
        set("submods.container.env", { API_KEY: secret })(c);
        set("dbgstat", "enabled")(c);
      },
    });
    const error = (await verifier.verify(token).catch((e: unknown) => e)) as AttestationPolicyError;
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain(parts(token)[1]);
    expect(error.cause).toBeUndefined();
    const expired = (await verifier
      .verify(
        await mint({
          claims: (c) => {
            set("submods.container.env", { API_KEY: secret })(c);
            set("exp", NOW_S - 600)(c);
          },
        }),
      )
      .catch((e: unknown) => e)) as AttestationPolicyError;
    expect(expired.check).toBe("expired");
    expect(expired.cause).toBeUndefined();
  });
});

/** The verifier's check for each failed clause of the policy (the verifier names projects as one check). */
const CHECK_OF: Record<PolicyCase["clause"], PolicyCheck> = {
  audience: "audience",
  swname: "swname",
  hwmodel: "hwmodel",
  secboot: "secboot",
  dbgstat: "dbgstat",
  swversion: "swversion",
  support_attributes: "support_attributes",
  image_digest: "image_digest",
  image_signatures: "image_signature",
  project_id: "project",
  project_number: "project",
  restart_policy: "restart_policy",
  service_account: "service_account",
};

describe("the one policy table (shared with @confspace/policy and the broker's grants)", () => {
  const tableVerifier = () =>
    createAttestationVerifier({
      issuer: emu.issuer,
      audience: AUDIENCE,
      clock: () => NOW,
      policy: policyCasePolicy(preparePolicyClaims(structuredClone(good))),
    });

  it("accepts the table's good token", async () => {
    await expect(tableVerifier().verify(await mint({ claims: preparePolicyClaims }))).resolves.toBeDefined();
  });

  it.each(POLICY_CASES)(
    "refuses $name with the clause's check and claim",
    async ({ mutate, clause, problem, claim }) => {
      const token = await mint({
        claims: (c) => {
          preparePolicyClaims(c);
          mutate(c);
        },
      });
      const check = problem === "mismatch" ? CHECK_OF[clause] : problem;
      await expectRejected(tableVerifier().verify(token), check, claim);
    },
  );
});

describe("OIDC keys of a fresh emulator", () => {
  it("fetches the JWKS once for a flood of unknown kids and picks up a rotated key after the cooldown", async () => {
    await using own = await startEmulator({ now: () => NOW, writeTokenFile: false });
    let now = NOW;
    const v = createAttestationVerifier({ issuer: own.issuer, audience: AUDIENCE, clock: () => now, policy: ANY });
    const ownMint = (header?: Mutation) =>
      own.mintToken({ audience: AUDIENCE, issuedAt: NOW_S - 60, ...(header ? { mutateHeader: header } : {}) });
    await v.verify(await ownMint());
    const flood = await Promise.all(
      Array.from({ length: 25 }, async () =>
        v.verify(await ownMint(set("kid", randomUUID()))).catch((e: unknown) => e),
      ),
    );
    expect(flood.every((e) => e instanceof AttestationPolicyError && e.check === "unknown_key")).toBe(true);
    expect(own.jwksRequests).toBe(1);
    await own.rotateKeys({ keepPrevious: false });
    const rotated = await ownMint();
    await expectRejected(v.verify(rotated), "unknown_key");
    expect(own.jwksRequests).toBe(1);
    now += 30_000;
    await expect(v.verify(rotated)).resolves.toBeDefined();
    expect(own.jwksRequests).toBe(2);
  });

  it("uses the last good keys while the JWKS fails within maxStaleMs, and refuses after", async () => {
    await using own = await startEmulator({ now: () => NOW, writeTokenFile: false });
    let now = NOW;
    const v = createAttestationVerifier({
      issuer: own.issuer,
      audience: AUDIENCE,
      jwksCacheMaxAgeMs: 600_000,
      maxStaleMs: 3_600_000,
      clock: () => now,
      policy: ANY,
    });
    const ownMint = () => own.mintToken({ audience: AUDIENCE, issuedAt: Math.floor(now / 1000) - 60 });
    await v.verify(await ownMint());
    own.failNextJwks({ status: 503, body: "down", count: Number.POSITIVE_INFINITY });
    now += 600_000 + 3_600_000;
    await expect(v.verify(await ownMint())).resolves.toBeDefined();
    expect(own.jwksRequests).toBe(2);
    now += 30_000;
    await expect(v.verify(await ownMint())).rejects.toMatchObject({ code: "ERR_VERIFIER_UNAVAILABLE" });
    expect(own.jwksRequests).toBe(3);
  });

  it("ready() pins the keys at startup so the first verify makes no request, and fails fast when they cannot be had", async () => {
    await using own = await startEmulator({ now: () => NOW, writeTokenFile: false });
    const v = createAttestationVerifier({ issuer: own.issuer, audience: AUDIENCE, clock: () => NOW, policy: ANY });
    await v.ready();
    expect(own.jwksRequests).toBe(1);
    await expect(v.verify(await own.mintToken({ audience: AUDIENCE, issuedAt: NOW_S - 60 }))).resolves.toBeDefined();
    expect(own.jwksRequests).toBe(1);

    own.failNextJwks({ status: 503, body: "down", count: Number.POSITIVE_INFINITY });
    const cold = createAttestationVerifier({ issuer: own.issuer, audience: AUDIENCE, clock: () => NOW, policy: ANY });
    await expect(cold.ready()).rejects.toMatchObject({ code: "ERR_VERIFIER_UNAVAILABLE" });
  });
});

describe("header rules, message by message", () => {
  const rows: [name: string, header: Mutation, check: PolicyCheck, claim: string, message: string][] = [
    ["alg RS384", set("alg", "RS384"), "algorithm", "alg", "the token must be signed with RS256"],
    ["no alg", del("alg"), "algorithm", "alg", "the token must be signed with RS256"],
    ["a jku", set("jku", "https://keys.example"), "header", "jku", 'the token carries a "jku" header, never followed'],
    ["an x5u", set("x5u", "https://keys.example"), "header", "x5u", 'the token carries a "x5u" header, never followed'],
    ["a jwk", set("jwk", { kty: "RSA" }), "header", "jwk", 'the token carries a "jwk" header, never followed'],
    ["an empty crit", set("crit", []), "header", "crit", 'the token carries a "crit" header'],
    [
      "an x5c on an OIDC verifier",
      set("x5c", ["MA=="]),
      "header",
      "x5c",
      'the token carries "x5c" but this verifier accepts OIDC tokens only',
    ],
    ["no kid", del("kid"), "header", "kid", 'the token has no "kid" header'],
    ["an empty kid", set("kid", ""), "header", "kid", 'the token has no "kid" header'],
    ["a numeric kid", set("kid", 1), "header", "kid", 'the token has no "kid" header'],
  ];
  it.each(rows)("refuses %s", async (_name, header, check, claim, message) => {
    const error = await verifier.verify(await mint({ header })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AttestationPolicyError);
    expect(error).toMatchObject({ check, claim, message });
  });

  it("refuses a token that is not a string with a policy error, not a TypeError", async () => {
    const error = await verifier.verify(42 as never).catch((e: unknown) => e);
    expect(error).toMatchObject({ check: "format", message: "the token must be a string" });
  });
});

describe("ready()", () => {
  it("is a no-op on a PKI verifier, which fetches no keys", async () => {
    const pki = createAttestationVerifier({
      audience: AUDIENCE,
      tokenType: "PKI",
      pkiRootFingerprint: emu.pkiRootFingerprint,
      policy: ANY,
    });
    await expect(pki.ready()).resolves.toBeUndefined();
  });
});

describe("signed images, end to end", () => {
  it("accepts an emulated image signed by 2 of 3 cosign keys under threshold 2, and refuses it under 3", async () => {
    const [builder, alice, bob] = [0, 1, 2].map(() => generateKeyPairSync("ec", { namedCurve: "P-256" }));
    const pem = (key: typeof builder) => key!.publicKey.export({ type: "spki", format: "pem" }).toString();
    await using signed = await startEmulator({
      now: () => NOW,
      writeTokenFile: false,
      imageSigners: [{ privateKey: builder!.privateKey }, { publicKey: pem(bob) }],
    });
    const keyIds = [builder, alice, bob].map((key) => keyIdFromPublicKey(pem(key)));
    const withThreshold = (threshold: number) =>
      createAttestationVerifier({
        issuer: signed.issuer,
        audience: AUDIENCE,
        clock: () => NOW,
        policy: { imageSignatures: { keyIds, threshold } },
      });
    const token = await signed.mintToken({ audience: AUDIENCE, issuedAt: NOW_S - 60 });
    const claims = await withThreshold(2).verify(token);
    expect(claims.submods.container?.image_signatures?.map((s) => s.key_id)).toEqual([keyIds[0], keyIds[2]]);
    await expectRejected(withThreshold(3).verify(token), "image_signature", "submods.container.image_signatures");
  });
});
