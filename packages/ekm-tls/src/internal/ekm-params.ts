import { EkmArgumentError } from "../errors.js";

/** Validated exporter inputs, in the form Node's `exportKeyingMaterial` takes. */
export interface EkmParams {
  label: string;
  /** `undefined` when the caller gave none; on TLS 1.3 that equals an empty context. */
  context: Buffer | undefined;
  length: number;
}

export interface EkmParamsInput {
  label: string;
  context?: Uint8Array | string | undefined;
  length?: number | undefined;
}

export const DEFAULT_EKM_LENGTH = 32;
export const MIN_EKM_LENGTH = 1;
export const MAX_EKM_LENGTH = 255;
/**
 * TLS 1.3 prefixes the exporter label with `"tls13 "` inside HkdfLabel, whose label field
 * holds at most 255 bytes (RFC 8446 §7.1); OpenSSL refuses longer ones.
 */
export const MAX_LABEL_BYTES = 249;
/** RFC 5705's context length field is 16 bits; TLS 1.3 hashes it, but keep the same bound. */
export const MAX_CONTEXT_BYTES = 65_535;

/** Labels TLS 1.2's PRF uses itself (RFC 5246, RFC 5705 §4): an exporter must never reuse them. */
const RESERVED_LABEL_PREFIXES = ["client finished", "server finished", "master secret", "key expansion"] as const;

// Printable ASCII only: RFC 5705 labels are ASCII strings, and a control character in a
// label is a mistake rather than a design.
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** Checks and normalises `{ label, context, length }`; throws {@link EkmArgumentError}. */
export function toEkmParams(input: EkmParamsInput): EkmParams {
  const { label } = input;
  if (typeof label !== "string" || label.length === 0) {
    throw new EkmArgumentError("label", "label must be a non-empty string, e.g. EXPORTER-my-protocol-v1");
  }
  if (!PRINTABLE_ASCII.test(label)) {
    throw new EkmArgumentError("label", "label must contain printable ASCII characters only (0x20-0x7E)");
  }
  if (label.length > MAX_LABEL_BYTES) {
    throw new EkmArgumentError("label", `label must be at most ${MAX_LABEL_BYTES} characters long`);
  }
  const reserved = RESERVED_LABEL_PREFIXES.find((prefix) => label.startsWith(prefix));
  if (reserved !== undefined) {
    throw new EkmArgumentError(
      "label",
      `label must not start with the reserved TLS label "${reserved}"; use an IANA-registered exporter label or one starting with EXPERIMENTAL`,
    );
  }

  const length = input.length ?? DEFAULT_EKM_LENGTH;
  if (!Number.isInteger(length) || length < MIN_EKM_LENGTH || length > MAX_EKM_LENGTH) {
    throw new EkmArgumentError(
      "length",
      `length must be an integer number of bytes from ${MIN_EKM_LENGTH} to ${MAX_EKM_LENGTH} (got ${String(length)})`,
    );
  }

  return { label, context: toContext(input.context), length };
}

function toContext(context: Uint8Array | string | undefined): Buffer | undefined {
  if (context === undefined) return undefined;
  let bytes: Buffer;
  if (typeof context === "string") {
    bytes = Buffer.from(context, "utf8");
  } else if (context instanceof Uint8Array) {
    // Copy, so a caller mutating its array afterwards cannot change what was bound.
    bytes = Buffer.from(context);
  } else {
    throw new EkmArgumentError("context", "context must be a string (encoded as UTF-8), a Buffer or a Uint8Array");
  }
  if (bytes.length > MAX_CONTEXT_BYTES) {
    throw new EkmArgumentError("context", `context must be at most ${MAX_CONTEXT_BYTES} bytes long`);
  }
  return bytes;
}
