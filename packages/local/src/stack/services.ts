import { InvalidOptionError } from "@confspace/core";

/** The services {@link startLocalStack} can start, besides the emulator and the CA it always starts. */
export const LOCAL_SERVICES = ["azure", "aws", "gcp", "vault"] as const;

/** One of {@link LOCAL_SERVICES}. */
export type LocalService = (typeof LOCAL_SERVICES)[number];

/**
 * Parses a service list (`"azure,aws"`, `["gcp"]` or `"all"`) strictly: every name must be
 * one of {@link LOCAL_SERVICES}, none twice, at least one. Throws {@link InvalidOptionError}
 * naming `option` otherwise.
 */
export function parseServices(value: string | readonly string[], option = "services"): LocalService[] {
  const names = typeof value === "string" ? value.split(",").map((s) => s.trim()) : [...value];
  if (names.length === 1 && names[0] === "all") return [...LOCAL_SERVICES];
  if (names.length === 0 || names.some((n) => n === "")) {
    throw new InvalidOptionError(
      option,
      `${option} must list at least one of ${LOCAL_SERVICES.join(", ")} (or "all").`,
    );
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (typeof name !== "string" || !(LOCAL_SERVICES as readonly string[]).includes(name)) {
      throw new InvalidOptionError(
        option,
        `${option}: unknown service ${JSON.stringify(name)}; expected ${LOCAL_SERVICES.join(", ")} or "all".`,
      );
    }
    if (seen.has(name)) throw new InvalidOptionError(option, `${option}: ${name} is listed twice.`);
    seen.add(name);
  }
  return names as LocalService[];
}
