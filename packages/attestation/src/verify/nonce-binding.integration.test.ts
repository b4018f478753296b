import { randomBytes } from "node:crypto";
import { type Emulator, startEmulator } from "@confspace/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectRejected, type Mutation, set } from "../../test/verify/test-tokens.js";
import { AttestationPolicyError, type PolicyCheck } from "./errors.js";
import type { AttestationVerifier, VerifyOptions } from "./options.js";
import { createAttestationVerifier } from "./verifier.js";

const AUDIENCE = "https://relying-party.example";
const NOW = Date.now();
const NOW_S = Math.floor(NOW / 1000);
// 32 bytes whose base64 and base64url encodings differ (they contain + and /).
const NONCE_BYTES = Buffer.from("fbff3e0123456789abcdef0123456789abcdef0123456789abcdefabcdef0123", "hex");
const NONCE = NONCE_BYTES.toString("base64url");
const fresh = () => randomBytes(32).toString("base64url");
const SIX = Array.from({ length: 6 }, fresh);

let emu: Emulator;
let verifier: AttestationVerifier;

beforeAll(async () => {
  emu = await startEmulator({ now: () => NOW, writeTokenFile: false });
  const digest = (emu.claims({ audience: AUDIENCE }).submods as { container: { image_digest: string } }).container
    .image_digest;
  verifier = createAttestationVerifier({
    issuer: emu.issuer,
    audience: AUDIENCE,
    clock: () => NOW,
    policy: { imageDigests: [digest] },
  });
});
afterAll(() => emu?.stop());

interface Mint {
  nonces?: string[];
  claims?: Mutation;
}
function mint(options: Mint = {}): Promise<string> {
  return emu.mintToken({
    audience: AUDIENCE,
    issuedAt: NOW_S - 60,
    ...(options.nonces ? { nonces: options.nonces } : {}),
    ...(options.claims ? { mutateClaims: options.claims } : {}),
  });
}

describe("one expected nonce", () => {
  const rows: [name: string, token: Mint, check: PolicyCheck][] = [
    ["an extra entry", { nonces: [NONCE, fresh()] }, "nonce"],
    ["a number", { claims: set("eat_nonce", 1234567890) }, "claim_type"],
    ["an object", { claims: set("eat_nonce", { nonce: NONCE }) }, "claim_type"],
    ["standard base64", { nonces: [NONCE_BYTES.toString("base64")] }, "nonce"],
    ["padded base64url", { claims: set("eat_nonce", `${NONCE}=`) }, "nonce"],
    ["hex", { nonces: [NONCE_BYTES.toString("hex")] }, "nonce"],
    ["another channel's nonce", { nonces: [fresh()] }, "nonce"],
    ["an empty array", { claims: set("eat_nonce", []) }, "nonce"],
    ["the nonce twice", { claims: set("eat_nonce", [NONCE, NONCE]) }, "nonce"],
    ["no eat_nonce at all", {}, "missing_claim"],
  ];
  it.each(rows)("rejects eat_nonce as %s", async (_name, options, check) => {
    await expectRejected(verifier.verify(await mint(options), { nonce: NONCE }), check, "eat_nonce");
    await expectRejected(verifier.verify(await mint(options), { nonces: [NONCE] }), check, "eat_nonce");
  });

  it("says which claim is missing", async () => {
    const message = /^the token has no "eat_nonce" claim$/;
    await expectRejected(verifier.verify(await mint(), { nonce: NONCE }), "missing_claim", "eat_nonce", message);
  });

  it("accepts the nonce as a string and as a one-element array", async () => {
    await expect(verifier.verify(await mint({ nonces: [NONCE] }), { nonce: NONCE })).resolves.toMatchObject({
      eat_nonce: NONCE,
    });
    const asArray = await mint({ claims: set("eat_nonce", [NONCE]) });
    await expect(verifier.verify(asArray, { nonce: NONCE })).resolves.toMatchObject({ eat_nonce: [NONCE] });
    await expect(verifier.verify(asArray, { nonces: [NONCE] })).resolves.toBeDefined();
  });
});

describe("a set of expected nonces", () => {
  const [a, b, c] = SIX as [string, string, string];
  it("accepts the token's nonces in any order", async () => {
    const token = await mint({ nonces: SIX });
    await expect(verifier.verify(token, { nonces: SIX })).resolves.toMatchObject({ eat_nonce: SIX });
    await expect(verifier.verify(token, { nonces: [...SIX].reverse() })).resolves.toBeDefined();
    await expect(verifier.verify(await mint({ nonces: [a, b] }), { nonces: [b, a] })).resolves.toBeDefined();
  });

  const rows: [name: string, token: string[] | Mutation, expected: string[]][] = [
    ["one missing", [a, b], [a, b, c]],
    ["one extra", [a, b, c], [a, b]],
    ["one replaced", [a, b, fresh()], [a, b, c]],
    ["a duplicate in place of a missing one", [a, a, b], [a, b, c]],
    ["a duplicate as an extra", [a, b, a], [a, b]],
    ["a single string for two expected", set("eat_nonce", a), [a, b]],
    ["the two joined", set("eat_nonce", `${a}${b}`), [a, b]],
  ];
  it.each(rows)("rejects the token's nonces with %s", async (_name, token, expected) => {
    const minted = await mint(Array.isArray(token) ? { nonces: token } : { claims: token });
    const message =
      (Array.isArray(token) ? token.length : 1) === expected.length
        ? /^eat_nonce is not the expected set of nonces$/
        : new RegExp(`^eat_nonce must hold exactly the ${expected.length} expected nonce\\(s\\)$`);
    await expectRejected(verifier.verify(minted, { nonces: expected }), "nonce", "eat_nonce", message);
  });

  it("rejects a non-string entry as a claim type error", async () => {
    const token = await mint({ claims: set("eat_nonce", [a, 7]) });
    await expectRejected(verifier.verify(token, { nonces: [a, "7"] }), "claim_type", "eat_nonce");
  });
});

describe("nonce misuse by the caller", () => {
  // A relying party maps AttestationPolicyError to 4xx: misuse must be one, never a bare TypeError (500).
  const NONCE_STRING = /^the nonce passed to verify\(\) must be a non-empty string$/;
  const NONCES_ARRAY = /^the nonces passed to verify\(\) must be an array of 1 to 6 strings$/;
  const NONCES_ENTRY = /^each nonce passed to verify\(\) must be a non-empty string$/;
  const NOT_OBJECT = /^the options of verify\(\) must be an object$/;
  const misuse: [name: string, options: unknown, message: RegExp][] = [
    ["an empty nonce", { nonce: "" }, NONCE_STRING],
    ["a number as nonce", { nonce: 42 }, NONCE_STRING],
    ["null as nonce", { nonce: null }, NONCE_STRING],
    ["an array as nonce", { nonce: [NONCE] }, NONCE_STRING],
    ["a string as nonces", { nonces: NONCE }, NONCES_ARRAY],
    ["an empty nonces array", { nonces: [] }, NONCES_ARRAY],
    ["seven nonces", { nonces: [...SIX, fresh()] }, NONCES_ARRAY],
    ["an empty entry in nonces", { nonces: [NONCE, ""] }, NONCES_ENTRY],
    ["a number in nonces", { nonces: [NONCE, 1] }, NONCES_ENTRY],
    ["a duplicate in nonces", { nonces: [NONCE, NONCE] }, /^the nonces passed to verify\(\) must be distinct$/],
    [
      "both nonce and nonces",
      { nonce: NONCE, nonces: [NONCE] },
      /^pass either nonce or nonces to verify\(\), not both$/,
    ],
    ["a misspelt option", { nounce: NONCE }, /^verify\(\) has no option "nounce" \(known: nonce, nonces\)$/],
    ["options that are a string", NONCE, NOT_OBJECT],
    ["options that are a number", 42, NOT_OBJECT],
    ["options that are true", true, NOT_OBJECT],
    ["options that are an array", [NONCE], NOT_OBJECT],
    ["options that are null", null, NOT_OBJECT],
  ];
  it.each(misuse)("refuses %s with check expected_nonce", async (_name, options, message) => {
    const token = await mint({ nonces: [NONCE] });
    const error = await verifier.verify(token, options as VerifyOptions).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AttestationPolicyError);
    expect(error).not.toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ code: "ERR_ATTESTATION_POLICY", check: "expected_nonce" });
    expect((error as Error).message).toMatch(message);
  });

  it("accepts explicitly undefined options and nonce", async () => {
    const token = await mint();
    await expect(verifier.verify(token, undefined)).resolves.toBeDefined();
    await expect(verifier.verify(token, { nonce: undefined })).resolves.toBeDefined();
    await expect(verifier.verify(token, { nonces: undefined })).resolves.toBeDefined();
  });

  it("keeps the caller's nonce out of the message", async () => {
    const secretish = `nonce-${fresh()}`;
    const error = (await verifier
      .verify(await mint(), { nonces: [secretish, secretish] })
      .catch((e: unknown) => e)) as Error;
    expect(error.message).not.toContain(secretish);
  });

  it("with requireNonce, refuses a call that passes no nonce", async () => {
    const digest = (emu.claims({ audience: AUDIENCE }).submods as { container: { image_digest: string } }).container
      .image_digest;
    const binding = createAttestationVerifier({
      issuer: emu.issuer,
      audience: AUDIENCE,
      clock: () => NOW,
      requireNonce: true,
      policy: { imageDigests: [digest] },
    });
    const token = await mint({ nonces: [NONCE] });
    const required = /^this verifier has requireNonce set: pass the expected nonce \(or nonces\) to verify\(\)$/;
    await expectRejected(binding.verify(token), "expected_nonce", undefined, required);
    await expectRejected(binding.verify(token, {}), "expected_nonce", undefined, required);
    await expect(binding.verify(token, { nonce: NONCE })).resolves.toBeDefined();
    await expect(binding.verify(token, { nonces: [NONCE] })).resolves.toBeDefined();
  });
});
