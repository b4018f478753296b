// Every reference scheme `secrets[].from` may name. A new scheme is one file exporting a
// ReferenceScheme, added to this list.
import { brokerDatakeyScheme } from "./broker-datakey.js";
import { gcpKmsScheme } from "./gcp-kms.js";
import type { ReferenceScheme } from "./reference-scheme.js";
import { vaultKvScheme } from "./vault-kv.js";

/** The schemes available, by `from:` value. */
export const REFERENCE_SCHEMES: ReadonlyMap<string, ReferenceScheme> = new Map(
  ([gcpKmsScheme, vaultKvScheme, brokerDatakeyScheme] as ReferenceScheme[]).map((scheme) => [scheme.name, scheme]),
);

/** Schemes that are designed but not available yet: naming one is a configuration error that says so. */
export const PLANNED_SCHEMES: Readonly<Record<string, string>> = {};
