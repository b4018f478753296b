import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { InvalidOptionError } from "@confspace/core";

const run = promisify(execFile);

/** The openssl binary; the Debian path, so a different one earlier on PATH is never picked up. */
export const OPENSSL = "/usr/bin/openssl";

/** Certificate validity (days). Short: these certificates only live as long as a test run. */
const VALIDITY_DAYS = "7";

/** Runs openssl in `dir`; the error names the subcommand only (never key material). */
export async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run(OPENSSL, args, { cwd: dir, timeout: 30_000 });
  } catch (error) {
    throw new Error(`openssl ${args[0]} failed in ${dir}; is ${OPENSSL} (OpenSSL 3) installed?`, { cause: error });
  }
}

/** Writes a fresh private key: EC P-256 (fast) or RSA 2048 (what Entra accepts for client certificates). */
export async function generateKey(dir: string, file: string, type: "ec" | "rsa"): Promise<void> {
  const algorithm =
    type === "ec"
      ? ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
      : ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
  await openssl(dir, ["genpkey", ...algorithm, "-out", file]);
}

/** Self-signs the CA certificate with a config written next to it (no system openssl.cnf sections involved). */
export async function selfSignCa(dir: string, keyFile: string, certFile: string, commonName: string): Promise<void> {
  const config = join(dir, "ca.cnf");
  await writeFile(
    config,
    [
      "[req]",
      "distinguished_name = dn",
      "prompt = no",
      "x509_extensions = v3_ca",
      "[dn]",
      `CN = ${commonName}`,
      "[v3_ca]",
      "basicConstraints = critical, CA:true, pathlen:0",
      "keyUsage = critical, keyCertSign, cRLSign",
      "subjectKeyIdentifier = hash",
      "",
    ].join("\n"),
  );
  await openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-config",
    config,
    "-key",
    keyFile,
    "-sha256",
    "-days",
    VALIDITY_DAYS,
    "-set_serial",
    serial(),
    "-out",
    certFile,
  ]);
}

/** What a leaf certificate is for. */
export interface LeafProfile {
  /** Base name of the files written (`<name>.csr`, `<name>.cnf`). */
  name: string;
  commonName: string;
  keyFile: string;
  certFile: string;
  extendedKeyUsage: "serverAuth" | "clientAuth";
  /** `digitalSignature` always; `keyEncipherment` too for RSA keys. */
  keyUsage: string;
  /** Subject alternative names (DNS names or IP addresses). */
  hosts?: string[];
}

/** Issues a leaf certificate for `profile` signed by the CA. */
export async function issueLeaf(
  dir: string,
  ca: { keyFile: string; certFile: string },
  profile: LeafProfile,
): Promise<void> {
  const config = join(dir, `${profile.name}.cnf`);
  const csr = join(dir, `${profile.name}.csr`);
  const lines = [
    "[req]",
    "distinguished_name = dn",
    "prompt = no",
    "[dn]",
    `CN = ${profile.commonName}`,
    "[v3]",
    "basicConstraints = critical, CA:false",
    `keyUsage = critical, ${profile.keyUsage}`,
    `extendedKeyUsage = ${profile.extendedKeyUsage}`,
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
  ];
  if (profile.hosts && profile.hosts.length > 0)
    lines.push("subjectAltName = @alt", "[alt]", ...altNames(profile.hosts));
  await writeFile(config, `${lines.join("\n")}\n`);
  await openssl(dir, ["req", "-new", "-config", config, "-key", profile.keyFile, "-out", csr]);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-set_serial",
    serial(),
    "-days",
    VALIDITY_DAYS,
    "-sha256",
    "-extfile",
    config,
    "-extensions",
    "v3",
    "-out",
    profile.certFile,
  ]);
}

/** Throws a TypeError for a host that is neither a DNS name nor an IP address (it would corrupt the config). */
export function assertValidHosts(hosts: string[]): void {
  if (hosts.length === 0) throw new InvalidOptionError("hosts", "createTestPki: hosts must name at least one host");
  for (const host of hosts) {
    if (isIP(host) === 0 && !/^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(host)) {
      throw new InvalidOptionError(
        "hosts",
        `createTestPki: ${JSON.stringify(host)} is neither a DNS name nor an IP address`,
      );
    }
  }
}

/**
 * Like `Promise.all`, but waits for every operation to finish before rejecting, so
 * no openssl process is still writing into the directory when it gets removed.
 */
export async function allSettledOrThrow<T>(operations: Array<Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(operations);
  const failed = results.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}

function altNames(hosts: string[]): string[] {
  assertValidHosts(hosts);
  let dns = 0;
  let ip = 0;
  return hosts.map((host) => (isIP(host) !== 0 ? `IP.${++ip} = ${host}` : `DNS.${++dns} = ${host}`));
}

/** A random positive 64-bit serial, so two runs never issue the same (issuer, serial) pair. */
function serial(): string {
  const bytes = randomBytes(8);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return `0x${bytes.toString("hex")}`;
}
