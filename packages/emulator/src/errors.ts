import { ConfspaceError, type ConfspaceErrorOptions } from "@confspace/core";

/**
 * Stable codes of {@link EmulatorError}:
 * - `ERR_EMULATOR_OPTIONS`: an option is invalid (names the option).
 * - `ERR_EMULATOR_PROFILE`: a claims profile cannot be read, parsed or used.
 * - `ERR_EMULATOR_LISTEN`: the launcher socket or the issuer port cannot be bound.
 * - `ERR_EMULATOR_STOPPED`: the emulator was used after `stop()`.
 */
export type EmulatorErrorCode =
  | "ERR_EMULATOR_OPTIONS"
  | "ERR_EMULATOR_PROFILE"
  | "ERR_EMULATOR_LISTEN"
  | "ERR_EMULATOR_STOPPED";

/**
 * Thrown by the emulator for invalid options or profiles, listeners that cannot be
 * bound, and use after `stop()`. Launcher-protocol errors are not thrown: the
 * emulated launcher answers them over its socket, as the real one does.
 */
export class EmulatorError extends ConfspaceError {
  declare readonly code: EmulatorErrorCode;

  constructor(code: EmulatorErrorCode, message: string, options?: ConfspaceErrorOptions) {
    super(code, message, options);
  }
}
