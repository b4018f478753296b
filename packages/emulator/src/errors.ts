import { ConfspaceError, type ConfspaceErrorOptions, InvalidOptionError } from "@confspace/core";

/**
 * Stable codes of {@link EmulatorError} (an invalid option is an
 * {@link EmulatorOptionError}, code `ERR_INVALID_OPTION`):
 * - `ERR_EMULATOR_PROFILE`: a claims profile cannot be read, parsed or used.
 * - `ERR_EMULATOR_LISTEN`: the launcher socket or the issuer port cannot be bound.
 * - `ERR_EMULATOR_STOPPED`: the emulator was used after `stop()`.
 */
export type EmulatorErrorCode = "ERR_EMULATOR_PROFILE" | "ERR_EMULATOR_LISTEN" | "ERR_EMULATOR_STOPPED";

/**
 * Thrown by the emulator for invalid profiles, listeners that cannot be
 * bound, and use after `stop()`. Launcher-protocol errors are not thrown: the
 * emulated launcher answers them over its socket, as the real one does.
 */
export class EmulatorError extends ConfspaceError {
  declare readonly code: EmulatorErrorCode;

  constructor(code: EmulatorErrorCode, message: string, options?: ConfspaceErrorOptions) {
    super(code, message, options);
  }
}

/**
 * An emulator option, CLI flag or fault setting is invalid, or the file an option names
 * cannot be written; `option` names it (`port`, `tokenFile`, `--lifetime`, `failNext.status`…).
 * Thrown by `startEmulator`, the emulator's methods and `generatePkiChain`; the CLI exits 2.
 * Code `ERR_INVALID_OPTION`, like every option error of the SDK.
 */
export class EmulatorOptionError extends InvalidOptionError {
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super(option, message);
    if (options?.cause !== undefined) {
      Object.defineProperty(this, "cause", { value: options.cause, writable: true, configurable: true });
    }
  }
}
