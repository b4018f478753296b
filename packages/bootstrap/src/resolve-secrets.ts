// Resolves every configured secret once, before the app starts. One failure stops the
// start: the error names the secret and its scheme, never a value.
import { ConfspaceError, type Logger, noopLogger, redactingLogger } from "@confspace/core";
import type { BootstrapConfig } from "./config.js";
import { SecretResolutionError } from "./errors.js";
import type { SchemeSession } from "./references/reference-scheme.js";
import { REFERENCE_SCHEMES } from "./references/registry.js";

/** One resolved secret. `value` is the only place its bytes live until delivered. */
export interface ResolvedSecret {
  name: string;
  target: BootstrapConfig["secrets"][number]["target"];
  value: Uint8Array;
}

/** Options of {@link resolveSecrets}. */
export interface ResolveSecretsOptions {
  /** Progress (secret names and schemes, never values). Default: none. */
  logger?: Logger;
  /** Deadline for all secrets together, ms. Default 60 000. */
  timeoutMs?: number;
}

/**
 * Resolves the configuration's secrets concurrently, one scheme session per scheme, all
 * closed afterwards.
 *
 * @throws {SecretResolutionError} naming the first secret that failed; `cause` is the
 *   credential package's error.
 */
export async function resolveSecrets(
  config: BootstrapConfig,
  options: ResolveSecretsOptions = {},
): Promise<ResolvedSecret[]> {
  const logger = options.logger ? redactingLogger(options.logger) : noopLogger;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error("timed out")), options.timeoutMs ?? 60_000);
  timer.unref();
  const sessions = new Map<string, SchemeSession<unknown>>();
  try {
    return await Promise.all(
      config.secrets.map(async (secret) => {
        const scheme = REFERENCE_SCHEMES.get(secret.scheme);
        if (scheme === undefined) throw new Error(`scheme ${secret.scheme} vanished`);
        let session = sessions.get(scheme.name);
        if (session === undefined) {
          session = scheme.open(config.sections.get(scheme.name), { logger });
          sessions.set(scheme.name, session);
        }
        try {
          const value = await session.resolve(secret.reference, controller.signal);
          logger.info("secret resolved", { secret: secret.name, scheme: secret.scheme });
          return { name: secret.name, target: secret.target, value };
        } catch (error) {
          controller.abort(error);
          // confspace errors never carry a secret or an upstream body, so their text is kept;
          // anything else is named by its type only.
          const reason =
            error instanceof ConfspaceError
              ? `${error.code}: ${error.message}`
              : error instanceof Error
                ? error.name
                : "error";
          throw new SecretResolutionError(
            `secret "${secret.name}" (${secret.scheme}) could not be resolved: ${reason.replace(/[.\s]+$/, "")}. Nothing was started.`,
            { secret: secret.name, scheme: secret.scheme, cause: error },
          );
        }
      }),
    );
  } finally {
    clearTimeout(timer);
    await Promise.all([...sessions.values()].map((s) => s.close().catch(() => {})));
  }
}
