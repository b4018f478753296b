// The response of a Google external-account `executable` credential source (pluggable
// auth): what `confspace-bootstrap google-executable-source` prints, so gcloud and Google's
// client libraries in any language use Workload Identity Federation with the attestation
// token. Clients run the command only with GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1,
// read stdout (stderr is merged into it by google-auth: nothing is written there on
// success), and, when the configuration names an `output_file`, pass it as
// GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE and reuse the response found there until
// `expiration_time`.
import { rename, writeFile } from "node:fs/promises";
import { type AttestationTokenSource, decodeClaims } from "@confspace/attestation";

/** The token type reported: an OIDC ID token (the attestation token is one). */
export const EXECUTABLE_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token";
/** The environment variable clients set to the configured `output_file`. */
export const GOOGLE_OUTPUT_FILE_ENV = "GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE";

/** A successful executable response (version 1). */
export interface ExecutableSuccess {
  version: 1;
  success: true;
  token_type: typeof EXECUTABLE_TOKEN_TYPE;
  id_token: string;
  /** Seconds since the epoch after which clients must run the executable again. */
  expiration_time: number;
}

/** A failed executable response. */
export interface ExecutableFailure {
  version: 1;
  success: false;
  code: string;
  message: string;
}

/** Options of {@link googleExecutableResponse}. */
export interface GoogleExecutableOptions {
  /** The attestation token source (default token, or a custom-audience source). */
  tokenSource: AttestationTokenSource;
  /** Report expiry this many seconds before the token's `exp`, so a cached response is never sent nearly expired. Default 30. */
  expirySkewSeconds?: number;
}

/** One response with a valid attestation token. */
export async function googleExecutableResponse(options: GoogleExecutableOptions): Promise<ExecutableSuccess> {
  const token = await options.tokenSource.getToken();
  const { exp } = decodeClaims(token);
  return {
    version: 1,
    success: true,
    token_type: EXECUTABLE_TOKEN_TYPE,
    id_token: token,
    expiration_time: Math.floor(Number(exp)) - (options.expirySkewSeconds ?? 30),
  };
}

/** Writes a response to the client's output file: mode 0600, atomically (temp file + rename). */
export async function writeExecutableOutputFile(path: string, response: ExecutableSuccess): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(response), { mode: 0o600, flag: "wx" });
  await rename(temp, path);
}
