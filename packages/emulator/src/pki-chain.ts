import { createHash, generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { EmulatorOptionError } from "./errors.js";
import { createCertificate, type DistinguishedName, toPem } from "./internal/x509.js";

const generateRsaKeyPair = promisify(generateKeyPair);

/** One certificate of a {@link PkiChain} with its private key. */
export interface PkiCertificate {
  /** The certificate, DER. */
  certificateDer: Buffer;
  /** The certificate, PEM (`-----BEGIN CERTIFICATE-----`). */
  certificatePem: string;
  /** The certificate's RSA private key. Never log it. */
  privateKey: KeyObject;
  /** The certificate's RSA public key. */
  publicKey: KeyObject;
}

/** A root → intermediate → leaf chain; PKI tokens are signed with the leaf key. */
export interface PkiChain {
  root: PkiCertificate;
  intermediate: PkiCertificate;
  leaf: PkiCertificate;
  /** SHA-256 of the root certificate's DER, lowercase hex without colons: what a verifier pins. */
  rootFingerprint: string;
  /** The token header's `x5c`: leaf, intermediate, root, standard base64 DER. */
  x5c: string[];
}

/** Validity and naming of one certificate of {@link generatePkiChain}. */
export interface PkiCertificateOptions {
  /** Start of validity. Default: one hour before generation (or before `notAfter`, if that is earlier). */
  notBefore?: Date;
  /**
   * End of validity. Default: generation time plus 10 years (root), 5 years
   * (intermediate) or 1 year (leaf). May lie in the past, to build an expired certificate.
   */
  notAfter?: Date;
  /** Subject common name. Default `confspace emulator root CA` / `… intermediate CA` / `… token signer`. */
  commonName?: string;
  /** Subject organization. Default `confspace emulator (not Google)`. */
  organization?: string;
}

/** Options of {@link generatePkiChain}. */
export interface PkiChainOptions {
  /** The self-signed root. */
  root?: PkiCertificateOptions;
  /** The intermediate CA, issued by the root (pathLen 0). */
  intermediate?: PkiCertificateOptions;
  /** The end-entity signing certificate, issued by the intermediate. */
  leaf?: PkiCertificateOptions;
  /** RSA modulus length of the three keys, bits. Default 2048. */
  modulusLength?: number;
  /** Generation time, ms since the epoch; validity defaults are relative to it. Default `Date.now()`. */
  now?: number;
}

const HOUR_MS = 3_600_000;
const YEAR_MS = 365 * 24 * HOUR_MS;
const ORGANIZATION = "confspace emulator (not Google)";

/**
 * Generates a fresh RSA root → intermediate → leaf chain shaped like the one behind
 * Confidential Space PKI tokens. Each call makes a new, unrelated root, so a second
 * chain is a "foreign root" to a verifier pinned to the first.
 *
 * @example
 * ```ts
 * const expired = await generatePkiChain({ intermediate: { notAfter: new Date(Date.now() - 1000) } });
 * const token = await emulator.mintToken({ tokenType: "PKI", pkiChain: expired });
 * ```
 */
export async function generatePkiChain(options: PkiChainOptions = {}): Promise<PkiChain> {
  const now = options.now ?? Date.now();
  const modulusLength = options.modulusLength ?? 2048;
  const [rootKeys, intermediateKeys, leafKeys] = await Promise.all(
    [0, 1, 2].map(() => generateRsaKeyPair("rsa", { modulusLength })),
  );
  const names = {
    root: nameOf(options.root, "confspace emulator root CA"),
    intermediate: nameOf(options.intermediate, "confspace emulator intermediate CA"),
    leaf: nameOf(options.leaf, "confspace emulator token signer"),
  };
  try {
    const rootDer = createCertificate({
      subject: names.root,
      subjectPublicKey: rootKeys!.publicKey,
      subjectPrivateKey: rootKeys!.privateKey,
      ...validity(options.root, now, 10 * YEAR_MS),
      basicConstraints: { ca: true, pathLength: 1 },
      keyUsage: ["keyCertSign", "cRLSign"],
    });
    const intermediateDer = createCertificate({
      subject: names.intermediate,
      subjectPublicKey: intermediateKeys!.publicKey,
      issuer: { name: names.root, ...rootKeys! },
      ...validity(options.intermediate, now, 5 * YEAR_MS),
      basicConstraints: { ca: true, pathLength: 0 },
      keyUsage: ["keyCertSign", "cRLSign"],
    });
    const leafDer = createCertificate({
      subject: names.leaf,
      subjectPublicKey: leafKeys!.publicKey,
      issuer: { name: names.intermediate, ...intermediateKeys! },
      ...validity(options.leaf, now, YEAR_MS),
      basicConstraints: { ca: false },
      keyUsage: ["digitalSignature"],
    });
    const root = entry(rootDer, rootKeys!);
    const intermediate = entry(intermediateDer, intermediateKeys!);
    const leaf = entry(leafDer, leafKeys!);
    return {
      root,
      intermediate,
      leaf,
      rootFingerprint: createHash("sha256").update(rootDer).digest("hex"),
      x5c: [leaf, intermediate, root].map((c) => c.certificateDer.toString("base64")),
    };
  } catch (error) {
    throw new EmulatorOptionError("validity", "Cannot build the PKI chain: check the validity dates.", {
      cause: error,
    });
  }
}

function nameOf(options: PkiCertificateOptions | undefined, commonName: string): DistinguishedName {
  return { commonName: options?.commonName ?? commonName, organization: options?.organization ?? ORGANIZATION };
}

function validity(options: PkiCertificateOptions | undefined, now: number, lifetimeMs: number) {
  const notAfter = options?.notAfter ?? new Date(now + lifetimeMs);
  // An explicit notAfter far in the past pulls the default start back with it.
  const notBefore = options?.notBefore ?? new Date(Math.min(now - HOUR_MS, notAfter.getTime() - HOUR_MS));
  return { notBefore, notAfter };
}

function entry(der: Buffer, keys: { publicKey: KeyObject; privateKey: KeyObject }): PkiCertificate {
  return { certificateDer: der, certificatePem: toPem(der), privateKey: keys.privateKey, publicKey: keys.publicKey };
}
