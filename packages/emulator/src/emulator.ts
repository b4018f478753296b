import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, noopLogger, redactingLogger } from "@confspace/core";
import type { Emulator, EmulatorOptions, FailureResponse, RotateKeysOptions } from "./emulator-types.js";
import { EmulatorError, EmulatorOptionError } from "./errors.js";
import { signImage } from "./image-signers.js";
import { FaultQueue } from "./internal/fault-queue.js";
import { SigningKeyRing } from "./internal/signing-keys.js";
import { IssuerServer } from "./issuer-server.js";
import { LauncherServer } from "./launcher-server.js";
import { generatePkiChain, type PkiChain } from "./pki-chain.js";
import { resolveProfile } from "./profile.js";
import { TokenFileWriter } from "./token-file.js";
import { type ClaimsOptions, type MintTokenOptions, TokenMinter } from "./token-minter.js";

/** File names the real launcher uses, kept inside the emulator's directory. */
const SOCKET_NAME = "teeserver.sock";
const TOKEN_FILE_NAME = "attestation_verifier_claims_token";
const MAX_SOCKET_PATH_BYTES = 107;

function invalid(option: string, message: string): EmulatorOptionError {
  return new EmulatorOptionError(option, message);
}

function checkOptions(options: EmulatorOptions): void {
  const lifetime = options.tokenLifetimeSeconds;
  if (lifetime !== undefined && !(Number.isFinite(lifetime) && lifetime > 0)) {
    throw invalid("tokenLifetimeSeconds", "tokenLifetimeSeconds must be a positive number of seconds.");
  }
  const port = options.port;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw invalid("port", "port must be an integer from 0 to 65535 (0 picks a free port).");
  }
  if (options.host !== undefined && (typeof options.host !== "string" || options.host === "")) {
    throw invalid("host", "host must be a non-empty string such as 127.0.0.1.");
  }
}

/** Releases one resource. Cleanups run newest first, on stop() or a failed start. */
type Cleanup = () => Promise<void>;

/** Everything a running emulator owns. */
interface EmulatorParts {
  socketPath: string;
  tokenFile: string;
  pkiChain: PkiChain;
  issuer: IssuerServer;
  keys: SigningKeyRing;
  minter: TokenMinter;
  writer: TokenFileWriter | undefined;
  launcherFaults: FaultQueue;
  jwksFaults: FaultQueue;
  cleanups: Cleanup[];
  logger: Logger;
}

class RunningEmulator implements Emulator {
  readonly socketPath: string;
  readonly tokenFile: string;
  readonly pkiChain: PkiChain;
  readonly #parts: EmulatorParts;
  #stopping: Promise<void> | undefined;

  constructor(parts: EmulatorParts) {
    this.socketPath = parts.socketPath;
    this.tokenFile = parts.tokenFile;
    this.pkiChain = parts.pkiChain;
    this.#parts = parts;
  }

  get issuer(): string {
    return this.#parts.issuer.url;
  }
  get jwksUri(): string {
    return this.#parts.issuer.jwksUri;
  }
  get pkiRootFingerprint(): string {
    return this.pkiChain.rootFingerprint;
  }
  get pkiRootCertificatePem(): string {
    return this.pkiChain.root.certificatePem;
  }
  get jwksRequests(): number {
    return this.#parts.issuer.jwksRequests;
  }

  #alive(what: string): void {
    if (this.#stopping) throw new EmulatorError("ERR_EMULATOR_STOPPED", `${what}: the emulator has been stopped.`);
  }

  claims(options?: ClaimsOptions): Record<string, unknown> {
    this.#alive("claims()");
    return this.#parts.minter.claims(options);
  }

  async mintToken(options?: MintTokenOptions): Promise<string> {
    this.#alive("mintToken()");
    return this.#parts.minter.mint(options);
  }

  async rotateKeys(options: RotateKeysOptions = {}): Promise<void> {
    this.#alive("rotateKeys()");
    await this.#parts.keys.rotate(options.keepPrevious ?? true);
    this.#parts.logger.info("emulator: signing key rotated", { kid: this.#parts.keys.current.kid });
  }

  async refreshTokenFile(): Promise<void> {
    this.#alive("refreshTokenFile()");
    if (!this.#parts.writer)
      throw invalid("writeTokenFile", "refreshTokenFile(): the token file is off (writeTokenFile: false).");
    await this.#parts.writer.refresh();
  }

  failNext(response: FailureResponse): void {
    this.#alive("failNext()");
    this.#parts.launcherFaults.addFailure(response, "failNext()");
  }

  delayNext(ms: number): void {
    this.#alive("delayNext()");
    this.#parts.launcherFaults.addDelay(ms, "delayNext()");
  }

  failNextJwks(response: FailureResponse): void {
    this.#alive("failNextJwks()");
    this.#parts.jwksFaults.addFailure(response, "failNextJwks()");
  }

  delayNextJwks(ms: number): void {
    this.#alive("delayNextJwks()");
    this.#parts.jwksFaults.addDelay(ms, "delayNextJwks()");
  }

  clearFaults(): void {
    this.#parts.launcherFaults.clear();
    this.#parts.jwksFaults.clear();
  }

  stop(): Promise<void> {
    this.#stopping ??= runCleanups(this.#parts.cleanups).then(() => this.#parts.logger.info("emulator: stopped"));
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

async function runCleanups(cleanups: Cleanup[]): Promise<void> {
  const errors: unknown[] = [];
  for (const cleanup of [...cleanups].reverse()) {
    try {
      await cleanup();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, "emulator: some resources could not be released");
}

/**
 * Starts a local stand-in for Confidential Space: the launcher on a Unix socket, the
 * default token file, an OIDC issuer with JWKS on loopback HTTP, and a PKI chain. Its
 * tokens are signed by local keys and carry the emulator's own `iss`: never trust
 * that issuer in production.
 *
 * @throws {EmulatorOptionError} an option is invalid (`ERR_INVALID_OPTION`, `option` names it).
 * @throws {EmulatorError} `ERR_EMULATOR_PROFILE` or `ERR_EMULATOR_LISTEN`.
 *
 * @example
 * ```ts
 * await using emulator = await startEmulator({ profile: "debug" });
 * const token = await emulator.mintToken({ audience: "https://broker.example", nonces: ["0123456789abcdef"] });
 * ```
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  checkOptions(options);
  const profile = resolveProfile(options.profile);
  if (options.imageSigners !== undefined) {
    if (profile.submods.container.image_signatures !== undefined) {
      throw invalid(
        "imageSigners",
        "imageSigners and a profile that sets image_signatures contradict each other: keep one.",
      );
    }
    profile.submods.container.image_signatures = signImage(options.imageSigners, profile.submods.container);
  }
  const logger = redactingLogger(options.logger ?? noopLogger);
  const now = options.now ?? Date.now;
  const lifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
  const cleanups: Cleanup[] = [];
  try {
    let dir = options.dir;
    if (dir === undefined) {
      const temp = await mkdtemp(join(tmpdir(), "confspace-emulator-"));
      cleanups.push(() => rm(temp, { recursive: true, force: true }));
      dir = temp;
    } else {
      await mkdir(dir, { recursive: true });
    }
    const socketPath = options.socketPath ?? join(dir, SOCKET_NAME);
    const tokenFile = options.tokenFile ?? join(dir, TOKEN_FILE_NAME);
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw invalid(
        "socketPath",
        `socketPath is longer than ${MAX_SOCKET_PATH_BYTES} bytes, the Unix socket limit: use a shorter dir.`,
      );
    }

    const [keys, pkiChain] = await Promise.all([
      SigningKeyRing.create(),
      options.pkiChain ? Promise.resolve(options.pkiChain) : generatePkiChain({ now: now() }),
    ]);
    const jwksFaults = new FaultQueue();
    const issuer = await IssuerServer.listen({
      host: options.host ?? "127.0.0.1",
      port: options.port ?? 0,
      jwks: () => keys.jwks(),
      rootCertificatePem: () => pkiChain.root.certificatePem,
      jwksFaults,
      logger,
    });
    cleanups.push(() => issuer.close());
    const minter = new TokenMinter({ issuer: issuer.url, profile, keys, pki: pkiChain, lifetimeSeconds, now });

    const launcherFaults = new FaultQueue();
    const launcher = await LauncherServer.listen({
      socketPath,
      mint: (request) => minter.mint(request),
      faults: launcherFaults,
      quota: options.launcherQuota ?? false,
      zone: profile.submods.gce.zone,
      now,
      logger,
    });
    cleanups.push(() => launcher.close());

    let writer: TokenFileWriter | undefined;
    if (options.writeTokenFile ?? true) {
      const fileWriter = new TokenFileWriter({ path: tokenFile, mint: () => minter.mint(), lifetimeSeconds, logger });
      cleanups.push(() => fileWriter.stop());
      await fileWriter.refresh().catch((error: unknown) => {
        throw new EmulatorOptionError("tokenFile", `Cannot write the token file ${tokenFile}: check tokenFile.`, {
          cause: error,
        });
      });
      writer = fileWriter;
    }
    logger.info("emulator: started", { socketPath, tokenFile, issuer: issuer.url });
    return new RunningEmulator({
      socketPath,
      tokenFile,
      pkiChain,
      issuer,
      keys,
      minter,
      writer,
      launcherFaults,
      jwksFaults,
      cleanups,
      logger,
    });
  } catch (error) {
    await runCleanups(cleanups).catch(() => {});
    throw error;
  }
}
