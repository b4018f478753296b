import type { Logger } from "@confspace/core";
import type { Plain } from "../internal/config-reader.js";

/** What a scheme's session gets when it is opened. */
export interface SchemeContext {
  /** Where the scheme may log progress (never a value); already redacting. */
  logger: Logger;
}

/** One open use of a scheme: resolves its references, then releases its clients. */
export interface SchemeSession<Reference> {
  /** The secret's bytes. Errors are the credential package's own; the caller names the secret. */
  resolve(reference: Reference, signal: AbortSignal): Promise<Uint8Array>;
  /** Disposes the credentials and clients the session created. */
  close(): Promise<void>;
}

/**
 * A kind of secret reference (`from: gcp-kms`, `from: vault-kv`). A scheme owns the fields
 * of its entries under `secrets:` and, optionally, one top-level section of the
 * configuration (`collaborators:`, `vault:`). Adding a scheme is one new file that
 * exports one of these, listed in `references/registry.ts`.
 */
export interface ReferenceScheme<Section = unknown, Reference = unknown> {
  /** The value of `from:`. */
  readonly name: string;
  /** The top-level configuration key this scheme reads, and its strict parser. */
  readonly section?: { readonly key: string; parse(value: unknown, path: string): Section };
  /** Fields an entry of this scheme may have besides `name`, `from`, `env` and `file`. */
  readonly fields: readonly string[];
  /** Validates one entry (its fields are already limited to `fields`). */
  parseReference(entry: Plain, path: string, section: Section | undefined): Reference;
  /** Opens a session for the references of one start. */
  open(section: Section | undefined, context: SchemeContext): SchemeSession<Reference>;
}
