import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import type { EmulatorOptions } from "../emulator-types.js";
import { EmulatorOptionError } from "../errors.js";
import type { ImageSigner } from "../image-signers.js";
import { loadProfile } from "../profile.js";

export const USAGE = `Usage: confspace-emulator [options]

Local stand-in for Google Cloud Confidential Space: launcher socket, default token
file, OIDC issuer with JWKS, PKI root. Prints KEY=value lines, then runs until
SIGINT/SIGTERM and cleans up. Tokens are signed by local keys: never trust the
emulator's issuer in production.

Options:
  --dir DIR            directory for socket and token file (default: a temp dir, removed on exit)
  --socket PATH        launcher socket (default: DIR/teeserver.sock)
  --token-file PATH    default token file (default: DIR/attestation_verifier_claims_token)
  --no-token-file      do not write the default token file
  --host HOST          issuer listen address (default: 127.0.0.1)
  --port PORT          issuer port (default: 0, a free port)
  --profile NAME|FILE  default, debug, or a JSON file of claims merged over the default
  --lifetime SECONDS   token lifetime (default: 3600)
  --image-signer FILE  a cosign key (PEM public or PKCS #8 private) that signed the image;
                       repeat for several: tokens list image_signatures with Google's key IDs
  --quota              emulate the service quota (5 requests per second)
  --verbose            log every request (JSON lines on stderr)
  -h, --help           show this help
`;

export type CliCommand = { help: true } | { help: false; verbose: boolean; options: EmulatorOptions };

/** `option`: the flag at fault, or `argv` when the arguments do not parse. */
function usageError(option: string, message: string): EmulatorOptionError {
  return new EmulatorOptionError(option, `${message} (see --help)`);
}

function parseNumber(flag: string, text: string | undefined, check: (n: number) => boolean): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!check(value)) throw usageError(`--${flag}`, `--${flag}: invalid value ${JSON.stringify(text)}`);
  return value;
}

/** Turns `confspace-emulator` arguments into emulator options (reading a profile file if named). */
export async function parseCliArgs(args: string[]): Promise<CliCommand> {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(args).values;
  } catch (error) {
    throw usageError("argv", error instanceof Error ? error.message : String(error));
  }
  if (values.help) return { help: true };
  const options: EmulatorOptions = {};
  if (values.dir !== undefined) options.dir = values.dir;
  if (values.socket !== undefined) options.socketPath = values.socket;
  if (values["token-file"] !== undefined) options.tokenFile = values["token-file"];
  if (values["no-token-file"]) options.writeTokenFile = false;
  if (values.host !== undefined) options.host = values.host;
  const port = parseNumber("port", values.port, (n) => Number.isInteger(n) && n <= 65535);
  if (port !== undefined) options.port = port;
  const lifetime = parseNumber("lifetime", values.lifetime, (n) => n > 0);
  if (lifetime !== undefined) options.tokenLifetimeSeconds = lifetime;
  if (values.quota) options.launcherQuota = true;
  const profile = values.profile;
  if (profile === "default" || profile === "debug") options.profile = profile;
  else if (profile !== undefined) options.profile = await loadProfile(profile);
  const signers = values["image-signer"] ?? [];
  if (signers.length > 0) options.imageSigners = await Promise.all(signers.map(readSigner));
  return { help: false, verbose: values.verbose ?? false, options };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      dir: { type: "string" },
      socket: { type: "string" },
      "token-file": { type: "string" },
      "no-token-file": { type: "boolean" },
      host: { type: "string" },
      port: { type: "string" },
      profile: { type: "string" },
      lifetime: { type: "string" },
      "image-signer": { type: "string", multiple: true },
      quota: { type: "boolean" },
      verbose: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/** A `--image-signer` file: a private key (PKCS #8) signs for real, a public key (`cosign.pub`) gives the key ID. */
async function readSigner(path: string): Promise<ImageSigner> {
  let pem: string;
  try {
    pem = await readFile(path, "utf8");
  } catch (error) {
    throw new EmulatorOptionError("--image-signer", `--image-signer: cannot read ${path}`, { cause: error });
  }
  return /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem) ? { privateKey: pem } : { publicKey: pem };
}

/** `KEY=value`, single-quoted for the shell when the value needs it. */
export function envLine(key: string, value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]*$/.test(value) ? `${key}=${value}` : `${key}='${value.replaceAll("'", `'\\''`)}'`;
}
