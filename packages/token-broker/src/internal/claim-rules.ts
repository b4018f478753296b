import { InvalidOptionError } from "@confspace/core";
import { type ResolvedWorkloadPolicy, validatePolicy } from "@confspace/policy";
import { fail } from "./config-reader.js";

/**
 * Reads a `WorkloadPolicy` at `path` of the configuration with `@confspace/policy`'s
 * `validatePolicy` (unknown keys, formats, the workload pin, the secure defaults); its
 * `InvalidOptionError` becomes a `BrokerConfigError` for the same field, so the broker
 * reports every configuration error one way.
 */
function readWorkloadPolicy(value: unknown, path: string): ResolvedWorkloadPolicy {
  try {
    return validatePolicy(value as never, { path });
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error;
    // The policy's messages start with the option path; BrokerConfigError adds it itself.
    const message = error.message.startsWith(`${error.option} `)
      ? error.message.slice(error.option.length + 1)
      : error.message;
    return fail(error.option, message);
  }
}

/**
 * Reads `attestation.policy`: the verifier's policy, a `WorkloadPolicy` that must pin
 * workloads (or say `allowAnyWorkload: true`).
 */
export function readPolicy(value: unknown, path: string): ResolvedWorkloadPolicy {
  return readWorkloadPolicy(value, path);
}

/**
 * Reads `grants[i].match`: a `WorkloadPolicy` like `attestation.policy`, with the same
 * defaults and the same pin rule. (`validateBrokerConfig` checks that an `audience` in it
 * is the broker's.)
 */
export function readGrantMatch(value: unknown, path: string): ResolvedWorkloadPolicy {
  return readWorkloadPolicy(value, path);
}
