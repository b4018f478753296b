import { execFileSync } from "node:child_process";
import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

type Row = [
  name: string,
  token: Mint | (() => Promise<string>),
  check: PolicyCheck,
  message: RegExp,
  pinned?: () => PkiChain,
];
const THREE = /x5c must hold exactly three certificates: leaf, intermediate, root/;
const rows: Row[] = [
  [
    "an OIDC token",
    () => emu.mintToken({ audience: AUDIENCE, issuedAt: NOW_S - 60 }),
    "certificate_chain",
    /the token has no "x5c" header/,
  ],
  [
    "a foreign root",
    { header: x5c(() => foreign.x5c) },
    "root_fingerprint",
    /x5c root certificate is not the pinned root/,
  ],
  ["a token minted on a foreign chain", () => mint({ chain: foreign }), "root_fingerprint", /not the pinned root/],
  ["two certificates", { header: x5c((c) => c.slice(0, 2)) }, "certificate_chain", THREE],
  ["four certificates", { header: x5c((c) => [...c, c[2]]) }, "certificate_chain", THREE],
  ["x5c as a string", { header: x5c((c) => c[0]) }, "certificate_chain", THREE],
  [
    "a PEM intermediate",
    { header: x5c(([l, , r]) => [l, Buffer.from(emu.pkiChain.intermediate.certificatePem).toString("base64"), r]) },
    "certificate_chain",
    /the x5c intermediate certificate is not DER/,
  ],
  [
    "a base64url leaf",
    { header: x5c(([l, i, r]) => [`${base64url(l!)}_-`, i, r]) },
    "certificate_chain",
    /the x5c leaf certificate is not standard base64/,
  ],
  [
    "a leaf with a character before its base64",
    { header: x5c(([l, i, r]) => [`-AAA${l}`, i, r]) },
    "certificate_chain",
    /the x5c leaf certificate is not standard base64/,
  ],
  [
    "an intermediate with a character after its base64",
    { header: x5c(([l, i, r]) => [l, `${i}-AAA`, r]) },
    "certificate_chain",
    /the x5c intermediate certificate is not standard base64/,
  ],
  [
    "a leaf as a number",
    { header: x5c(([, i, r]) => [7, i, r]) },
    "certificate_chain",
    /leaf certificate is not standard/,
  ],
  [
    // Whether a DER's base64 ends in padding depends on its length, which varies by chain.
    "a root whose base64 length is not a multiple of 4",
    { header: x5c(([l, i, r]) => [l, i, r!.endsWith("=") ? r!.replace(/=+$/, "") : `${r}AA`]) },
    "certificate_chain",
    /the x5c root certificate is not standard base64/,
  ],
  [
    "a leaf that is base64 but no certificate",
    { header: x5c(([, i, r]) => [Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]).toString("base64"), i, r]) },
    "certificate_chain",
    /the x5c leaf certificate cannot be parsed/,
  ],
  [
    "an expired intermediate",
    {},
    "certificate_validity",
    /the x5c intermediate certificate has expired/,
    () => expiredIntermediate,
  ],
  ["an expired leaf", {}, "certificate_validity", /the x5c leaf certificate has expired/, () => expiredLeaf],
  ["a root not valid yet", {}, "certificate_validity", /the x5c root certificate is not valid yet/, () => futureRoot],
  [
    "a leaf not signed by the intermediate",
    () => mint({ chain: foreign, header: x5c(([l]) => [l, ...emu.pkiChain.x5c.slice(1)]) }),
    "certificate_chain",
    /the x5c leaf certificate is not signed by the intermediate/,
  ],
  [
    "an intermediate not signed by the root",
    () => mint({ header: x5c(([l, i]) => [l, i, foreign.x5c[2]]) }),
    "certificate_chain",
    /the x5c intermediate certificate is not signed by the root/,
    () => foreign,
  ],
  [
    "leaf and intermediate swapped",
    { header: x5c(([l, i, r]) => [i, l, r]) },
    "certificate_chain",
    /the x5c leaf certificate is not signed by the intermediate/,
  ],
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
    /the x5c leaf must not be a CA certificate/,
  ],
  [
    "a signature by another key",
    async () => {
      const [h, p] = parts(await mint());
      return signRs256(decode(h), decode(p), attacker.privateKey);
    },
    "signature",
    /signature does not verify/,
  ],
  ["alg none", { header: set("alg", "none") }, "algorithm", /RS256/],
  ["a jku header", { header: set("jku", "http://127.0.0.1:9/jwks") }, "header", /jku/],
  ['dbgstat "enabled"', { claims: set("dbgstat", "enabled") }, "dbgstat", /dbgstat/],
  ["an audience array with an extra entry", { claims: set("aud", [AUDIENCE, "x"]) }, "audience", /audience/],
  ["an expired token", { claims: set("exp", NOW_S - 31) }, "expired", /expired/],
  [
    "no nbf",
    {
      claims: (c) => {
        delete c.nbf;
      },
    },
    "missing_claim",
    /nbf/,
  ],
];

describe("PKI tokens from the emulator", () => {
  it("accepts the good PKI token and returns its claims", async () => {
    await expect(verifier.verify(await mint())).resolves.toMatchObject({ aud: AUDIENCE, swname: "CONFIDENTIAL_SPACE" });
  });

  it("accepts a token of another chain when pinned to that chain's root", async () => {
    await expect(pinnedTo(foreign).verify(await mint({ chain: foreign }))).resolves.toBeDefined();
  });

  it.each(rows)("rejects %s", async (_name, token, check, message, pinned) => {
    const chain = pinned?.();
    const made = typeof token === "function" ? await token() : await mint({ ...token, ...(chain ? { chain } : {}) });
    const claim = check.startsWith("certificate_") || check === "root_fingerprint" ? "x5c" : undefined;
    await expectRejected((chain ? pinnedTo(chain) : verifier).verify(made), check, claim, message);
  });

  it("refuses a certificate spelt in non-canonical base64 (an unused bit set)", async () => {
    // Only a padded base64 has unused bits; whether a DER gets padding depends on its length.
    let chain = emu.pkiChain;
    let index = chain.x5c.findIndex((entry) => entry.endsWith("="));
    for (let tries = 0; index < 0 && tries < 20; tries++) {
      chain = await generatePkiChain({ now: NOW });
      index = chain.x5c.findIndex((entry) => entry.endsWith("="));
    }
    const entry = chain.x5c[index]!;
    const at = entry.replace(/=+$/, "").length - 1;
    const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const spelt = `${entry.slice(0, at)}${ALPHABET[ALPHABET.indexOf(entry[at]!) ^ 1]}${entry.slice(at + 1)}`;
    expect(Buffer.from(spelt, "base64")).toEqual(Buffer.from(entry, "base64"));
    const token = await mint({ chain, header: x5c((c) => c.map((e, i) => (i === index ? spelt : e))) });
    const name = ["leaf", "intermediate", "root"][index];
    await expectRejected(
      pinnedTo(chain).verify(token),
      "certificate_chain",
      "x5c",
      new RegExp(`^the x5c ${name} certificate is not DER$`),
    );
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

interface OpensslChainOptions {
  rootCa?: boolean;
  intermediateCa?: boolean;
  /** Issue the root from another CA, so the pinned root is not self-signed. */
  rootIssuedByAnother?: boolean;
  /** Sign the leaf with an impostor CA that has the intermediate's name but another key. */
  impostorSignsLeaf?: boolean;
}

/**
 * A root → intermediate → leaf chain made by the openssl CLI (an issuer independent of the
 * emulator's), with the root's and the intermediate's basicConstraints CA flag as given.
 * No authority key identifiers, so "is issued by" rests on the names alone.
 */
function opensslChain(options: OpensslChainOptions = {}): { x5c: string[]; leafKey: KeyObject; pin: string } {
  const { rootCa = true, intermediateCa = true, rootIssuedByAnother = false, impostorSignsLeaf = false } = options;
  const dir = mkdtempSync(join(tmpdir(), "confspace-pki-"));
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const constraints = (ca: boolean) => `basicConstraints=critical,CA:${ca ? "TRUE" : "FALSE"}`;
  const newKey = (name: string) => ["-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-subj", `/CN=${name}`];
  const selfSigned = (name: string, file: string, ca: boolean) =>
    openssl("req", "-x509", ...newKey(name), "-out", `${file}.pem`, "-days", "1", "-addext", constraints(ca));
  const issue = (name: string, issuer: string, ca: boolean) => {
    writeFileSync(join(dir, `${name}.ext`), `${constraints(ca)}\nauthorityKeyIdentifier=none\n`);
    openssl("req", ...newKey(name), "-out", `${name}.csr`);
    const signer = ["-CA", `${issuer}.pem`, "-CAkey", `${issuer}.key`];
    openssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      ...signer,
      "-out",
      `${name}.pem`,
      "-days",
      "1",
      "-extfile",
      `${name}.ext`,
    );
  };
  try {
    if (rootIssuedByAnother) {
      selfSigned("super", "super", true);
      issue("root", "super", rootCa);
    } else {
      selfSigned("root", "root", rootCa);
    }
    issue("intermediate", "root", intermediateCa);
    if (impostorSignsLeaf) {
      // Same subject name as the intermediate, its own key; its key file is impostor.key.
      selfSigned("intermediate", "impostor", true);
      renameSync(join(dir, "intermediate.key"), join(dir, "impostor.key"));
    }
    issue("leaf", impostorSignsLeaf ? "impostor" : "intermediate", false);
    const der = (name: string) => readFileSync(join(dir, `${name}.pem`), "utf8").replace(/-----[A-Z ]+-----|\s/g, "");
    const root = der("root");
    return {
      x5c: [der("leaf"), der("intermediate"), root],
      leafKey: createPrivateKey(readFileSync(join(dir, "leaf.key"))),
      pin: createHash("sha256").update(Buffer.from(root, "base64")).digest("hex"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("PKI chains made by openssl", () => {
  async function verifyOn(chain: ReturnType<typeof opensslChain>): Promise<unknown> {
    const [h, p] = parts(await mint());
    const token = signRs256({ ...decode(h), x5c: chain.x5c }, decode(p), chain.leafKey);
    const pinned = createAttestationVerifier({
      issuer: emu.issuer,
      audience: AUDIENCE,
      tokenType: "PKI",
      pkiRootFingerprint: chain.pin,
      clock: () => NOW,
      policy: ANY,
    });
    return pinned.verify(token);
  }

  it("accepts a well-formed chain", async () => {
    await expect(verifyOn(opensslChain())).resolves.toMatchObject({ aud: AUDIENCE });
  });

  it("refuses a pinned root that is not self-signed", async () => {
    await expectRejected(
      verifyOn(opensslChain({ rootIssuedByAnother: true })),
      "certificate_chain",
      "x5c",
      /^the x5c root certificate is not signed by the root$/,
    );
  });

  it("refuses a leaf that names the intermediate as issuer but is signed by another key", async () => {
    await expectRejected(
      verifyOn(opensslChain({ impostorSignsLeaf: true })),
      "certificate_chain",
      "x5c",
      /the x5c leaf certificate is not signed by the intermediate/,
    );
  });

  it.each([
    ["the intermediate", true, false],
    ["the root", false, true],
  ])("refuses a chain where %s is not a CA", async (_name, rootCa, intermediateCa) => {
    await expectRejected(
      verifyOn(opensslChain({ rootCa, intermediateCa })),
      "certificate_chain",
      "x5c",
      /the x5c root and intermediate must be CA certificates/,
    );
  });
});

describe("certificate validity windows, to the millisecond", () => {
  const TOLERANCE = 30_000; // the default clockToleranceMs
  let endsSoon: PkiChain;
  let startsSoon: PkiChain;
  beforeAll(async () => {
    [endsSoon, startsSoon] = await Promise.all([
      generatePkiChain({ now: NOW, leaf: { notAfter: new Date(NOW - 10_000) } }),
      generatePkiChain({ now: NOW, intermediate: { notBefore: new Date(NOW + 10_000) } }),
    ]);
  });
  const at = (chain: PkiChain, clock: number) =>
    createAttestationVerifier({
      issuer: emu.issuer,
      audience: AUDIENCE,
      tokenType: "PKI",
      pkiRootFingerprint: chain.rootFingerprint,
      clock: () => clock,
      policy: ANY,
    });
  const notAfter = (chain: PkiChain) => Date.parse(new X509Certificate(chain.leaf.certificatePem).validTo);
  const notBefore = (chain: PkiChain) => Date.parse(new X509Certificate(chain.intermediate.certificatePem).validFrom);

  it("accepts a leaf expired for up to clockToleranceMs, and not a millisecond more", async () => {
    const token = await mint({ chain: endsSoon });
    await expect(at(endsSoon, notAfter(endsSoon) + TOLERANCE).verify(token)).resolves.toBeDefined();
    await expectRejected(
      at(endsSoon, notAfter(endsSoon) + TOLERANCE + 1).verify(token),
      "certificate_validity",
      "x5c",
      /the x5c leaf certificate has expired/,
    );
  });

  it("accepts an intermediate valid within clockToleranceMs, and not a millisecond earlier", async () => {
    const token = await mint({ chain: startsSoon });
    await expect(at(startsSoon, notBefore(startsSoon) - TOLERANCE).verify(token)).resolves.toBeDefined();
    await expectRejected(
      at(startsSoon, notBefore(startsSoon) - TOLERANCE - 1).verify(token),
      "certificate_validity",
      "x5c",
      /the x5c intermediate certificate is not valid yet/,
    );
  });
});
