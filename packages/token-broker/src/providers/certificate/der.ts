// The little ASN.1 DER the certificate provider needs: a strict reader (definite, minimal
// lengths; one-byte tags; nothing after the outermost value) for CSRs and the CA
// certificate, and a writer for the certificates it issues. Everything else (signature
// checks, signing, key parsing) is node:crypto's.

/** A DER value could not be read: what was wrong, never the bytes. */
export class DerError extends Error {}

/** Universal and context tags used here. */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** One type-length-value, pointing into the buffer it was read from. */
export interface Tlv {
  /** The identifier octet (class, constructed bit and tag number). */
  readonly tag: number;
  /** The contents octets. */
  readonly value: Buffer;
  /** The whole encoding, identifier and length included (what a signature covers). */
  readonly raw: Buffer;
}

/**
 * Reads exactly one DER value filling `bytes` (nothing may follow it).
 *
 * @throws {DerError} not DER: a multi-byte tag, an indefinite or non-minimal length, a
 *   value longer than the input, or trailing bytes.
 */
export function readDer(bytes: Buffer): Tlv {
  const [tlv, end] = readAt(bytes, 0);
  if (end !== bytes.length) throw new DerError("trailing bytes after the DER value");
  return tlv;
}

/** The values inside a constructed value, in order. */
export function children(tlv: Tlv): Tlv[] {
  if ((tlv.tag & 0x20) === 0) throw new DerError("a primitive value has no children");
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < tlv.value.length) {
    const [child, end] = readAt(tlv.value, offset);
    out.push(child);
    offset = end;
  }
  return out;
}

/** `tlv` if it has `tag`, else a {@link DerError} saying what was expected. */
export function expect(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv === undefined || tlv.tag !== tag) throw new DerError(`expected ${what}`);
  return tlv;
}

function readAt(bytes: Buffer, offset: number): [Tlv, number] {
  if (offset + 2 > bytes.length) throw new DerError("truncated DER value");
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte DER tags are not supported");
  let length = bytes[offset + 1] as number;
  let header = 2;
  if (length === 0x80) throw new DerError("indefinite lengths are not DER");
  if (length > 0x80) {
    const octets = length & 0x7f;
    if (octets > 3) throw new DerError("DER length too large");
    if (offset + 2 + octets > bytes.length) throw new DerError("truncated DER length");
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (bytes[offset + 2 + i] as number);
    // Minimal: long form only from 128, and no leading zero octet.
    if (length < 0x80 || (bytes[offset + 2] as number) === 0) throw new DerError("non-minimal DER length");
    header += octets;
  }
  const end = offset + header + length;
  if (end > bytes.length) throw new DerError("truncated DER value");
  return [{ tag, value: bytes.subarray(offset + header, end), raw: bytes.subarray(offset, end) }, end];
}

/** Dotted object identifier of an OID value's contents. */
export function decodeOid(value: Buffer): string {
  if (value.length === 0 || ((value[value.length - 1] as number) & 0x80) !== 0) {
    throw new DerError("malformed object identifier");
  }
  const arcs: number[] = [];
  let arc = 0;
  for (let i = 0; i < value.length; i++) {
    const byte = value[i] as number;
    if (arc === 0 && byte === 0x80) throw new DerError("non-minimal object identifier");
    arc = arc * 128 + (byte & 0x7f);
    if (arc > Number.MAX_SAFE_INTEGER / 128) throw new DerError("object identifier arc too large");
    if ((byte & 0x80) === 0) {
      arcs.push(arc);
      arc = 0;
    }
  }
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join(".");
}

// --- writer ---

/** Encodes one value: `tag`, minimal length, `contents`. */
export function encode(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else if (n < 0x100) length = Buffer.from([0x81, n]);
  else if (n < 0x10000) length = Buffer.from([0x82, n >> 8, n & 0xff]);
  else if (n < 0x1000000) length = Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  else throw new DerError("value too large");
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

export const sequence = (...contents: Buffer[]) => encode(TAG.sequence, ...contents);
export const set = (...contents: Buffer[]) => encode(TAG.set, ...contents);
export const octetString = (bytes: Buffer) => encode(TAG.octetString, bytes);
export const utf8String = (text: string) => encode(TAG.utf8String, Buffer.from(text, "utf8"));
export const nullValue = () => encode(TAG.null);
export const booleanTrue = () => encode(TAG.boolean, Buffer.from([0xff]));
/** A BIT STRING of whole bytes (no unused bits). */
export const bitString = (bytes: Buffer) => encode(TAG.bitString, Buffer.from([0]), bytes);
/** `[n] EXPLICIT` (constructed, context class). */
export const explicit = (n: number, ...contents: Buffer[]) => encode(0xa0 | n, ...contents);

/** A non-negative INTEGER from big-endian magnitude bytes (minimal, with a 0x00 when the top bit is set). */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const bytes = magnitude.subarray(start);
  if (bytes.length === 0) return encode(TAG.integer, Buffer.from([0]));
  return ((bytes[0] as number) & 0x80) === 0
    ? encode(TAG.integer, bytes)
    : encode(TAG.integer, Buffer.from([0]), bytes);
}

/** A small non-negative INTEGER. */
export const smallInteger = (n: number) => unsignedInteger(Buffer.from([n]));

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map(Number);
  const [a = 0, b = 0, ...rest] = arcs;
  const out: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return encode(TAG.oid, Buffer.from(out));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, `Z`. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = date.getUTCFullYear();
  return year < 2050
    ? encode(TAG.utcTime, Buffer.from(digits.slice(2), "ascii"))
    : encode(TAG.generalizedTime, Buffer.from(digits, "ascii"));
}
