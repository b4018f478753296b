import type { Clock, Expiring } from "@confspace/core";
import { LauncherError, TokenExpiredError } from "../errors.js";
import { expiryMs, parseJwt } from "./jwt.js";

/** Pairs a token from the launcher with its `exp`; refuses one without `exp` or already expired. */
export function expiringToken(token: string, clock: Clock, what: string): Expiring<string> {
  const parsed = parseJwt(token);
  const expiresAt = parsed.ok ? expiryMs(parsed.payload) : undefined;
  if (expiresAt === undefined) {
    throw new LauncherError("ERR_LAUNCHER_RESPONSE", `The launcher's ${what} has no numeric exp claim`);
  }
  if (expiresAt <= clock.now()) {
    throw new TokenExpiredError(
      expiresAt,
      `The launcher returned a ${what} that expired at ${new Date(expiresAt).toISOString()}; check this machine's clock`,
    );
  }
  return { value: token, expiresAt };
}
