import {
  type Clock,
  ConfspaceError,
  CredentialUnavailableError,
  type Logger,
  noopLogger,
  redactingLogger,
  systemClock,
  TokenCache,
  TokenUnavailableError,
} from "@confspace/core";
import { InvalidTokenRequestError, LauncherUnavailableError, TokenExpiredError, TokenFileError } from "./errors.js";
import { expiringToken } from "./internal/expiring-token.js";
import { envValue, nonNegativeMs, positiveNumber } from "./internal/options.js";
import { sleep } from "./internal/sleep.js";
import { readTokenFile, type TokenFileRead, tokenFileStamp } from "./internal/token-file.js";
import { LAUNCHER_SOCKET_ENV, LauncherClient, type LauncherClientOptions } from "./launcher-client.js";
import type { AttestationTokenSource, GetAttestationTokenOptions } from "./token-source.js";

/** Environment variable naming the default token file; read when `tokenFile` is not given. */
export const TOKEN_FILE_ENV = "CONFSPACE_TOKEN_FILE";

/** Where the launcher keeps the default token (audience `https://sts.googleapis.com`). */
export const DEFAULT_TOKEN_FILE = "/run/container_launcher/attestation_verifier_claims_token";

/** Options of {@link defaultTokenSource}. */
export interface DefaultTokenSourceOptions {
  /** Path of the token file. Default: env `CONFSPACE_TOKEN_FILE`, then `/run/container_launcher/attestation_verifier_claims_token`. */
  tokenFile?: string;
  /**
   * The launcher used when the file does not exist or holds an expired token: a client,
   * or options for one (`clock` and `logger` are passed on when unset). Default: a
   * `LauncherClient` on env `CONFSPACE_LAUNCHER_SOCKET`, then the standard socket.
   */
  launcher?: LauncherClient | LauncherClientOptions;
  /** A token is returned only while more than this is left before its `exp`, in ms. Default 30 000. */
  expirySkewMs?: number;
  /** Reads of an empty, partly written or non-JWT file before giving up with `ERR_TOKEN_FILE_INVALID`. Default 3. */
  fileReadAttempts?: number;
  /** Pause between those reads, in ms. Default 100. */
  fileRetryDelayMs?: number;
  /** Receives where tokens came from (never a token); wrapped with `redactingLogger`. Default: no logging. */
  logger?: Logger;
  /** Time and timers. Default `systemClock` from `@confspace/core`. */
  clock?: Clock;
}

/** The source returned by {@link defaultTokenSource}. */
export interface DefaultTokenSource extends AttestationTokenSource {
  /** The token file this source reads. */
  readonly tokenFile: string;
  /** The launcher this source falls back to. */
  readonly launcher: LauncherClient;
  /** Stops background refreshes of launcher-issued tokens; later calls reject with `ERR_DISPOSED`. */
  dispose(): void;
}

/** Token file contents are re-read this long before their `exp` even if the file looks unchanged. */
const NEAR_EXPIRY_MS = 5 * 60_000;

/**
 * The launcher's default token (audience `https://sts.googleapis.com`), as used for
 * Workload Identity Federation. Reads the token file, re-reading it whenever it changes
 * (inode, size or times, checked on every call) or nears expiry; when there is no file,
 * gets one with `GET /v1/token` on the launcher socket, cached through core's
 * `TokenCache` and refreshed ahead of expiry. Never returns an expired token.
 *
 * Errors: `ERR_TOKEN_FILE_INVALID` (file unusable after the retries; not cached, the
 * next call reads again), `ERR_TOKEN_FILE_UNREADABLE`, `ERR_TOKEN_EXPIRED` (the file's
 * token expired and no launcher), `ERR_ATTESTATION_UNAVAILABLE`
 * (`CredentialUnavailableError`: neither file nor socket), and the launcher's errors.
 *
 * @example
 * ```ts
 * const source = defaultTokenSource();
 * const subjectToken = await source.getToken();
 * ```
 */
export function defaultTokenSource(options: DefaultTokenSourceOptions = {}): DefaultTokenSource {
  const tokenFile = options.tokenFile || envValue(TOKEN_FILE_ENV) || DEFAULT_TOKEN_FILE;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ? redactingLogger(options.logger) : noopLogger;
  const skewMs = nonNegativeMs("expirySkewMs", options.expirySkewMs, 30_000);
  const readAttempts = positiveNumber("fileReadAttempts", options.fileReadAttempts, 3, true);
  const retryDelayMs = nonNegativeMs("fileRetryDelayMs", options.fileRetryDelayMs, 100);
  const launcher =
    options.launcher instanceof LauncherClient
      ? options.launcher
      : new LauncherClient({ clock: options.clock, logger: options.logger, ...options.launcher });
  const fromLauncher = new TokenCache<"default", string>({
    name: "default attestation token",
    clock,
    expirySkewMs: skewMs,
    fetch: async (_key, { signal }) => expiringToken(await launcher.defaultToken({ signal }), clock, "default token"),
  });
  let cached: { token: string; expiresAt: number; stamp: string } | undefined;
  let disposed = false;

  const usable = (expiresAt: number) => clock.now() < expiresAt - skewMs;

  async function readWithRetries(signal: AbortSignal | undefined): Promise<TokenFileRead> {
    for (let attempt = 1; ; attempt++) {
      let read: TokenFileRead;
      try {
        read = await readTokenFile(tokenFile);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        throw new TokenFileError(
          "ERR_TOKEN_FILE_UNREADABLE",
          tokenFile,
          `Cannot read the token file ${tokenFile} (${typeof code === "string" ? code : "error"}); check its permissions, or point the tokenFile option or ${TOKEN_FILE_ENV} elsewhere`,
          { cause: error },
        );
      }
      if (read.kind !== "invalid") return read;
      if (attempt >= readAttempts) {
        throw new TokenFileError(
          "ERR_TOKEN_FILE_INVALID",
          tokenFile,
          `The token file ${tokenFile} holds no usable token: ${read.reason}. It is read again on the next call; if it persists, check what writes it (option tokenFile, ${TOKEN_FILE_ENV})`,
        );
      }
      logger.warn("token file unusable; reading it again", { tokenFile, reason: read.reason, attempt });
      await sleep(clock, retryDelayMs, signal);
    }
  }

  async function viaLauncher(options: GetAttestationTokenOptions, expiredFileAt?: number): Promise<string> {
    try {
      return await fromLauncher.get("default", { signal: options.signal, forceRefresh: options.forceRefresh });
    } catch (error) {
      const unavailable =
        error instanceof LauncherUnavailableError ||
        (error instanceof TokenUnavailableError && error.cause instanceof LauncherUnavailableError);
      if (!unavailable) throw error;
      // Nothing to back off from: the next call should look for the file and socket again.
      fromLauncher.delete("default");
      if (expiredFileAt !== undefined) {
        throw new TokenExpiredError(
          expiredFileAt,
          `The token in ${tokenFile} expired at ${new Date(expiredFileAt).toISOString()} and there is no launcher at ${launcher.socketPath} to get a fresh one (option launcher.socketPath, ${LAUNCHER_SOCKET_ENV})`,
          { cause: error },
        );
      }
      throw new CredentialUnavailableError(
        "ERR_ATTESTATION_UNAVAILABLE",
        `No attestation token here: no token file at ${tokenFile} (option tokenFile, env ${TOKEN_FILE_ENV}) and no launcher socket at ${launcher.socketPath} (option launcher.socketPath, env ${LAUNCHER_SOCKET_ENV}). Outside Confidential Space, start @confspace/emulator and set these.`,
        { cause: error },
      );
    }
  }

  async function getToken(options: GetAttestationTokenOptions = {}): Promise<string> {
    if (options.nonces !== undefined && options.nonces.length > 0) {
      throw new InvalidTokenRequestError(
        "nonces",
        "The default token cannot carry nonces; use customTokenSource({ audience }) and pass nonces to its getToken()",
      );
    }
    options.signal?.throwIfAborted();
    if (disposed) {
      throw new ConfspaceError("ERR_DISPOSED", "This default token source has been disposed; create a new one.");
    }
    const stamp = await tokenFileStamp(tokenFile).catch(() => "unknown");
    if (stamp !== undefined) {
      const current = cached;
      if (
        options.forceRefresh !== true &&
        current !== undefined &&
        current.stamp === stamp &&
        clock.now() < current.expiresAt - Math.max(skewMs, NEAR_EXPIRY_MS)
      ) {
        return current.token;
      }
      cached = undefined;
      const read = await readWithRetries(options.signal);
      if (read.kind === "token") {
        if (usable(read.expiresAt)) {
          cached = { token: read.token, expiresAt: read.expiresAt, stamp: read.stamp };
          logger.debug("attestation token read from file", {
            tokenFile,
            expiresAt: new Date(read.expiresAt).toISOString(),
          });
          return read.token;
        }
        logger.warn("token file holds an expired token; asking the launcher", {
          tokenFile,
          expiresAt: new Date(read.expiresAt).toISOString(),
        });
        return viaLauncher(options, read.expiresAt);
      }
      // The file vanished between the stat and the read: fall through to the socket.
    }
    logger.debug("no token file; asking the launcher", { tokenFile, socketPath: launcher.socketPath });
    return viaLauncher(options);
  }

  return {
    tokenFile,
    launcher,
    getToken,
    dispose: () => {
      disposed = true;
      cached = undefined;
      fromLauncher.dispose();
    },
  };
}
