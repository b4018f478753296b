// Throwaway certificates for the key service's tests, made with the openssl CLI: a workload
// CA, a server certificate, and client certificates naming grants by URI SAN (as the
// broker's `certificate` provider issues them), plus the hostile ones: expired, from
// another CA, without a grant, with two grants.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const OPENSSL = "/usr/bin/openssl";

/** One client certificate and its key (PEM). */
export interface ClientPair {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

/** What a test asks for in a client certificate. */
export interface ClientProfile {
  /** URI SANs, e.g. `urn:confspace:grant:a`. */
  uris: string[];
  /** `[notBefore, notAfter]` as openssl `YYYYMMDDHHMMSSZ`; default now … +1 day. */
  dates?: [string, string];
  /** Sign with the other CA (one the key service does not trust). */
  foreign?: boolean;
}

export interface KeyServicePki {
  dir: string;
  caFile: string;
  caPem: string;
  serverCertFile: string;
  serverKeyFile: string;
  /** Issues a client certificate. */
  client(name: string, profile: ClientProfile): Promise<ClientPair>;
  cleanup(): Promise<void>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run(OPENSSL, args, { cwd: dir, timeout: 30_000 });
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`]);
  await openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    `${name}.key`,
    "-subj",
    `/CN=${name}`,
    "-days",
    "2",
    "-addext",
    "basicConstraints=critical,CA:true,pathlen:0",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    `${name}.pem`,
  ]);
  await writeFile(join(dir, `${name}.index`), "");
  await writeFile(join(dir, `${name}.serial`), "1000\n");
  await writeFile(
    join(dir, `${name}.cnf`),
    [
      "[ca]",
      "default_ca = d",
      "[d]",
      `database = ${name}.index`,
      "new_certs_dir = .",
      `serial = ${name}.serial`,
      "default_md = sha256",
      "policy = p",
      "unique_subject = no",
      "[p]",
      "commonName = supplied",
      "",
    ].join("\n"),
  );
}

function stamp(offsetMs: number): string {
  return `${new Date(Date.now() + offsetMs).toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
}

/** Creates the workload CA, another CA and a server certificate for 127.0.0.1/localhost. */
export async function createKeyServicePki(): Promise<KeyServicePki> {
  const dir = await mkdtemp(join(tmpdir(), "confspace-keysvc-"));
  let queue: Promise<unknown> = Promise.resolve();
  // `openssl ca` keeps a serial file and an index per CA: one issuance at a time.
  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    const next = queue.then(task, task);
    queue = next.catch(() => {});
    return next;
  };
  const issue = (name: string, ca: string, extensions: string[], dates: [string, string]) =>
    serially(async () => {
      await openssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`]);
      await openssl(dir, ["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${name}`, "-out", `${name}.csr`]);
      await writeFile(join(dir, `${name}.ext`), `[ext]\n${extensions.join("\n")}\n`);
      await openssl(dir, [
        "ca",
        "-batch",
        "-notext",
        "-config",
        `${ca}.cnf`,
        "-cert",
        `${ca}.pem`,
        "-keyfile",
        `${ca}.key`,
        "-in",
        `${name}.csr`,
        "-out",
        `${name}.pem`,
        "-startdate",
        dates[0],
        "-enddate",
        dates[1],
        "-extfile",
        `${name}.ext`,
        "-extensions",
        "ext",
      ]);
      return {
        cert: await readFile(join(dir, `${name}.pem`), "utf8"),
        key: await readFile(join(dir, `${name}.key`), "utf8"),
        certFile: join(dir, `${name}.pem`),
        keyFile: join(dir, `${name}.key`),
      };
    });
  try {
    await Promise.all([makeCa(dir, "workload-ca"), makeCa(dir, "other-ca")]);
    const day = 24 * 3600 * 1000;
    await issue(
      "server",
      "workload-ca",
      [
        "basicConstraints = critical, CA:false",
        "keyUsage = critical, digitalSignature",
        "extendedKeyUsage = serverAuth",
        "subjectAltName = DNS:localhost, IP:127.0.0.1",
      ],
      [stamp(-60_000), stamp(day)],
    );
    return {
      dir,
      caFile: join(dir, "workload-ca.pem"),
      caPem: await readFile(join(dir, "workload-ca.pem"), "utf8"),
      serverCertFile: join(dir, "server.pem"),
      serverKeyFile: join(dir, "server.key"),
      client: (name, profile) =>
        issue(
          name,
          profile.foreign ? "other-ca" : "workload-ca",
          [
            "basicConstraints = critical, CA:false",
            "keyUsage = critical, digitalSignature",
            "extendedKeyUsage = clientAuth",
            ...(profile.uris.length === 0
              ? []
              : [`subjectAltName = ${profile.uris.map((uri) => `URI:${uri}`).join(", ")}`]),
          ],
          profile.dates ?? [stamp(-60_000), stamp(day)],
        ),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
