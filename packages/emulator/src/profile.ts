import { readFile } from "node:fs/promises";
import { EmulatorError } from "./errors.js";
import { deepFreeze, deepMerge, isPlainObject } from "./internal/deep-merge.js";

/** Token types the launcher can issue. */
export type TokenType = "OIDC" | "PKI" | "AWS_PRINCIPALTAGS" | "LIMITED_AWS";

/** `submods.container.image_signatures[]` entries. */
export interface EmulatorImageSignature {
  key_id: string;
  signature: string;
  signature_algorithm: string;
}

/**
 * The workload-describing claims of an emulated token: everything except the
 * per-token claims (`iss`, `aud`, `exp`, `iat`, `nbf`, `jti`, `eat_nonce`, AWS
 * tags), which the emulator sets when it mints. Shaped like `ConfidentialSpaceClaims`
 * of `@confspace/attestation`: `swversion` is an array of strings, `submods.gce.*`
 * are strings.
 */
export interface EmulatorClaims {
  /** Default: `https://www.googleapis.com/compute/v1/projects/{project_id}/zones/{zone}/instances/{instance_name}`. */
  sub?: string;
  eat_profile: string;
  hwmodel: string;
  swname: string;
  swversion: string[];
  dbgstat: string;
  secboot: boolean;
  oemid: number;
  google_service_accounts: string[];
  submods: {
    confidential_space: { support_attributes?: string[]; monitoring_enabled?: { memory?: boolean } };
    container: {
      image_reference: string;
      image_digest: string;
      restart_policy: string;
      image_id: string;
      env?: Record<string, string>;
      args?: string[];
      image_signatures?: EmulatorImageSignature[];
      [claim: string]: unknown;
    };
    gce: {
      zone: string;
      project_id: string;
      project_number: string;
      instance_name: string;
      instance_id: string;
      [claim: string]: unknown;
    };
    [submod: string]: unknown;
  };
  [claim: string]: unknown;
}

/** Recursively optional; `null` deletes a claim from the defaults. Arrays replace. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | null }
    : T;

/** A profile: claims deep-merged over {@link DEFAULT_PROFILE}. */
export type EmulatorProfile = DeepPartial<EmulatorClaims>;

/** Claims minted per token; a profile cannot set them (use `mintToken({ mutateClaims })`). */
const PER_TOKEN_CLAIMS = ["iss", "aud", "exp", "iat", "nbf", "jti", "eat_nonce", "https://aws.amazon.com/tags"];

/**
 * Production-like claims: AMD SEV hardware, a production Confidential Space image
 * (debugging disabled, `LATEST`/`STABLE`/`USABLE` support), a sample image pinned by
 * digest, restart policy `Never`. Every identifier names the emulator, never a real project.
 */
export const DEFAULT_PROFILE: Readonly<EmulatorClaims> = deepFreeze<EmulatorClaims>({
  eat_profile: "https://cloud.google.com/confidential-computing/confidential-space/docs/reference/token-claims",
  hwmodel: "GCP_AMD_SEV",
  swname: "CONFIDENTIAL_SPACE",
  swversion: ["250301"],
  dbgstat: "disabled-since-boot",
  secboot: true,
  oemid: 11129,
  google_service_accounts: ["workload@confspace-emulator.iam.gserviceaccount.com"],
  submods: {
    confidential_space: { support_attributes: ["LATEST", "STABLE", "USABLE"], monitoring_enabled: { memory: false } },
    container: {
      image_reference: "us-docker.pkg.dev/confspace-emulator/workloads/app:latest",
      image_digest: "sha256:e45dc81d261c6a88f0c5986d1543d55b8dfd37670d209fedfe929624039f986a",
      restart_policy: "Never",
      image_id: "sha256:ab792d38ee28b3b6ccfa55e4927db8d93798dd691ba7718e5a3332b22fdadd40",
      env: { HOSTNAME: "confspace-workload", PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
      args: ["/app/server"],
    },
    gce: {
      zone: "us-central1-a",
      project_id: "confspace-emulator",
      project_number: "123456789012",
      instance_name: "confspace-workload",
      instance_id: "4567890123456789012",
    },
  },
});

/** A debug Confidential Space image: `dbgstat` `enabled` and no support attributes. */
export const DEBUG_PROFILE: Readonly<EmulatorClaims> = deepFreeze(
  deepMerge(DEFAULT_PROFILE, {
    dbgstat: "enabled",
    submods: { confidential_space: { support_attributes: null } },
  }) as EmulatorClaims,
);

/**
 * Resolves a profile option to a full claim set: `"default"` (or nothing),
 * `"debug"`, or an object deep-merged over {@link DEFAULT_PROFILE}.
 *
 * @throws {EmulatorError} `ERR_EMULATOR_PROFILE` for an unknown name, a non-object
 *   or a per-token claim (`iss`, `aud`, `exp`, …).
 */
export function resolveProfile(profile: "default" | "debug" | EmulatorProfile | undefined): EmulatorClaims {
  if (profile === undefined || profile === "default") return structuredClone(DEFAULT_PROFILE) as EmulatorClaims;
  if (profile === "debug") return structuredClone(DEBUG_PROFILE) as EmulatorClaims;
  if (!isPlainObject(profile)) {
    throw new EmulatorError(
      "ERR_EMULATOR_PROFILE",
      `Unknown profile ${JSON.stringify(profile)}: use "default", "debug" or an object of claims.`,
    );
  }
  checkProfile(profile);
  return deepMerge(DEFAULT_PROFILE, profile) as EmulatorClaims;
}

function checkProfile(profile: Record<string, unknown>): void {
  const reserved = PER_TOKEN_CLAIMS.filter((claim) => Object.hasOwn(profile, claim));
  if (reserved.length > 0) {
    throw new EmulatorError(
      "ERR_EMULATOR_PROFILE",
      `A profile cannot set ${reserved.join(", ")}: these are minted per token. ` +
        "Pass mintToken({ audience, nonces, mutateClaims }) instead.",
    );
  }
}

/**
 * Reads a profile from a JSON file (an object of claims, deep-merged over the
 * defaults when used).
 *
 * @throws {EmulatorError} `ERR_EMULATOR_PROFILE` when the file cannot be read,
 *   is not JSON, is not an object or sets a per-token claim.
 */
export async function loadProfile(path: string): Promise<EmulatorProfile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new EmulatorError("ERR_EMULATOR_PROFILE", `Cannot read the profile file ${path}.`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new EmulatorError("ERR_EMULATOR_PROFILE", `The profile file ${path} is not valid JSON.`, { cause: error });
  }
  if (!isPlainObject(parsed)) {
    throw new EmulatorError("ERR_EMULATOR_PROFILE", `The profile file ${path} must hold a JSON object of claims.`);
  }
  checkProfile(parsed);
  return parsed as EmulatorProfile;
}
