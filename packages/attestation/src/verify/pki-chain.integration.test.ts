import { generateKeyPairSync } from "node:crypto";
import { type Emulator, generatePkiChain, type PkiChain, startEmulator } from "@confspace/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signRs256 } from "../../test/verify/test-issuer.js";
import { decode, expectRejected, type Mutation, parts, set } from "../../test/verify/test-tokens.js";
import type { PolicyCheck } from "./errors.js";
import type { AttestationVerifier } from "./options.js";
import { createAttestationVerifier } from "./verifier.js";

const AUDIENCE = "https://relying-party.example";
const NOW = Date.now();
const NOW_S = Math.floor(NOW / 1000);
const HOUR = 3_600_000;

let emu: Emulator;
let verifier: AttestationVerifier;
let foreign: PkiChain;
let expiredIntermediate: PkiChain;
let expiredLeaf: PkiChain;
let futureRoot: PkiChain;
const attacker = generateKeyPairSync("rsa", { modulusLength: 2048 });
/** These tests are about the certificate chain, not the workload. */
const ANY = { allowAnyWorkload: true } as const;

/** A PKI verifier pinned to `chain`'s root, fingerprint written with colons in upper case. */
function pinnedTo(chain: PkiChain): AttestationVerifier {
  return createAttestationVerifier({
    issuer: emu.issuer,
    audience: AUDIENCE,
    tokenType: "PKI",
    pkiRootFingerprint: chain.rootFingerprint.toUpperCase().replace(/(..)(?!$)/g, "$1:"),
    clock: () => NOW,
    policy: ANY,
  });
}

beforeAll(async () => {
  emu = await startEmulator({ now: () => NOW, writeTokenFile: false });
  verifier = createAttestationVerifier({
    issuer: emu.issuer,
    audience: AUDIENCE,
    tokenType: "PKI",
    pkiRootFingerprint: emu.pkiRootFingerprint,
    policy: ANY,
    clock: () => NOW,
  });
  [foreign, expiredIntermediate, expiredLeaf, futureRoot] = await Promise.all([
    generatePkiChain({ now: NOW }),
    generatePkiChain({ now: NOW, intermediate: { notAfter: new Date(NOW - HOUR) } }),
    generatePkiChain({ now: NOW, leaf: { notAfter: new Date(NOW - HOUR) } }),
    generatePkiChain({ now: NOW, root: { notBefore: new Date(NOW + HOUR), notAfter: new Date(NOW + 100 * HOUR) } }),
  ]);
});

afterAll(() => emu?.stop());

interface Mint {
  claims?: Mutation;
  header?: Mutation;
  chain?: PkiChain;
  nonces?: string[];
}

function mint(options: Mint = {}): Promise<string> {
  return emu.mintToken({
    audience: AUDIENCE,
    issuedAt: NOW_S - 60,
    tokenType: "PKI",
    ...(options.chain ? { pkiChain: options.chain } : {}),
    ...(options.nonces ? { nonces: options.nonces } : {}),
    ...(options.claims ? { mutateClaims: options.claims } : {}),
    ...(options.header ? { mutateHeader: options.header } : {}),
  });
}

const x5c =
  (edit: (chain: string[]) => unknown): Mutation =>
  (h) => {
    h.x5c = edit([...(h.x5c as string[])]);
  };
const base64url = (s: string) => s.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

type Row = [name: string, token: Mint | (() => Promise<string>), check: PolicyCheck, pinned?: () => PkiChain];
const rows: Row[] = [
  ["an OIDC token", () => emu.mintToken({ audience: AUDIENCE, issuedAt: NOW_S - 60 }), "certificate_chain"],
  ["a foreign root", { chain: undefined, header: x5c(() => foreign.x5c) }, "root_fingerprint"],
  ["a token minted on a foreign chain", () => mint({ chain: foreign }), "root_fingerprint"],
  ["two certificates", { header: x5c((c) => c.slice(0, 2)) }, "certificate_chain"],
  ["four certificates", { header: x5c((c) => [...c, c[2]]) }, "certificate_chain"],
  ["x5c as a string", { header: x5c((c) => c[0]) }, "certificate_chain"],
  [
    "a PEM intermediate",
    { header: x5c(([l, , r]) => [l, Buffer.from(emu.pkiChain.intermediate.certificatePem).toString("base64"), r]) },
    "certificate_chain",
  ],
  ["a base64url leaf", { header: x5c(([l, i, r]) => [`${base64url(l!)}_-`, i, r]) }, "certificate_chain"],
  ["an expired intermediate", { chain: undefined }, "certificate_validity", () => expiredIntermediate],
  ["an expired leaf", { chain: undefined }, "certificate_validity", () => expiredLeaf],
  ["a root not valid yet", { chain: undefined }, "certificate_validity", () => futureRoot],
  [
    "a leaf not signed by the intermediate",
    () => mint({ chain: foreign, header: x5c(([l]) => [l, ...emu.pkiChain.x5c.slice(1)]) }),
    "certificate_chain",
  ],
  ["leaf and intermediate swapped", { header: x5c(([l, i, r]) => [i, l, r]) }, "certificate_chain"],
  [
    "the root as leaf and intermediate (CA leaf)",
    async () => {
      const [h, p] = parts(await mint());
      return signRs256(
        { ...decode(h), x5c: Array(3).fill(emu.pkiChain.x5c[2]) },
        decode(p),
        emu.pkiChain.root.privateKey,
      );
    },
    "certificate_chain",
  ],
  [
    "a signature by another key",
    async () => {
      const [h, p] = parts(await mint());
      return signRs256(decode(h), decode(p), attacker.privateKey);
    },
    "signature",
  ],
  ["alg none", { header: set("alg", "none") }, "algorithm"],
  ["a jku header", { header: set("jku", "http://127.0.0.1:9/jwks") }, "header"],
  ['dbgstat "enabled"', { claims: set("dbgstat", "enabled") }, "dbgstat"],
  ["an audience array with an extra entry", { claims: set("aud", [AUDIENCE, "x"]) }, "audience"],
  ["an expired token", { claims: set("exp", NOW_S - 31) }, "expired"],
  [
    "no nbf",
    {
      claims: (c) => {
        delete c.nbf;
      },
    },
    "missing_claim",
  ],
];

describe("PKI tokens from the emulator", () => {
  it("accepts the good PKI token and returns its claims", async () => {
    await expect(verifier.verify(await mint())).resolves.toMatchObject({ aud: AUDIENCE, swname: "CONFIDENTIAL_SPACE" });
  });

  it("accepts a token of another chain when pinned to that chain's root", async () => {
    await expect(pinnedTo(foreign).verify(await mint({ chain: foreign }))).resolves.toBeDefined();
  });

  it.each(rows)("rejects %s", async (_name, token, check, pinned) => {
    const chain = pinned?.();
    const made = typeof token === "function" ? await token() : await mint({ ...token, ...(chain ? { chain } : {}) });
    await expectRejected((chain ? pinnedTo(chain) : verifier).verify(made), check);
  });

  it("rejects a PKI token on an OIDC verifier without fetching keys", async () => {
    const oidc = createAttestationVerifier({ issuer: emu.issuer, audience: AUDIENCE, clock: () => NOW, policy: ANY });
    await expectRejected(oidc.verify(await mint()), "header", "x5c");
    expect(emu.jwksRequests).toBe(0);
  });

  it("fits the default maxTokenBytes (32 KiB) with room to spare", async () => {
    const token = await mint({ nonces: ["a".repeat(74), "b".repeat(74), "c".repeat(74)] });
    expect(token.length).toBeLessThan(16 * 1024);
  });
});
