// `@confspace/core/der`: the little ASN.1 DER (X.690) the confspace packages need, and no
// more: a strict reader (the broker's certificate provider reads CSRs and its CA with it)
// and a writer (the broker's and the emulator's X.509 certificates, ekm-tls's PKCS#10
// requests). Signatures, signing and key parsing stay node:crypto's. Node.js only; kept
// out of the main entry so an app importing `@confspace/core` never loads it.

/** A DER value could not be read: what was wrong, never the bytes. */
export class DerError extends Error {}

/** Universal tags used here. */
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

// --- reader ---

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

// --- writer: every function returns one complete TLV; a value it cannot encode is a RangeError ---

/** Definite-length octets: short form below 128, long form (0x80 | n, n big-endian bytes) above. */
export function encodeLength(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`invalid DER length ${length}`);
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with the given identifier octet: `tag`, minimal length, the contents concatenated. */
export function tlv(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(TAG.sequence, ...items);

/** A SET OF, with elements sorted by their encodings as DER requires. */
export function set(...items: Uint8Array[]): Buffer {
  return tlv(TAG.set, ...[...items].sort((a, b) => Buffer.compare(a, b)));
}

export const boolean = (value: boolean): Buffer => tlv(TAG.boolean, Buffer.from([value ? 0xff : 0x00]));
export const nullValue = (): Buffer => tlv(TAG.null);

/**
 * INTEGER, two's complement, minimal length. A byte array is read as an unsigned
 * big-endian magnitude (certificate serial numbers, RSA moduli).
 */
export function integer(value: number | bigint | Uint8Array): Buffer {
  if (value instanceof Uint8Array) return tlv(TAG.integer, unsignedMagnitude(value));
  let n = BigInt(value); // a fractional number is a RangeError here
  if (n >= 0n) {
    const hex = n.toString(16);
    return tlv(TAG.integer, unsignedMagnitude(Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex")));
  }
  // Negative: the shortest two's complement representation.
  let length = 1;
  while (n < -(1n << BigInt(8 * length - 1))) length++;
  n += 1n << BigInt(8 * length);
  return tlv(TAG.integer, Buffer.from(n.toString(16).padStart(length * 2, "0"), "hex"));
}

function unsignedMagnitude(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = Buffer.from(bytes.subarray(start));
  if (trimmed.length === 0) return Buffer.from([0]);
  // A set top bit would read as negative: prefix a zero octet.
  return ((trimmed[0] as number) & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
}

/** OBJECT IDENTIFIER from its dotted form (`1.2.840.113549.1.1.11`). */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map((arc) => {
    if (!/^\d+$/.test(arc)) throw new RangeError(`invalid OID ${dotted}`);
    return BigInt(arc);
  });
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || first > 2n || (first < 2n && second > 39n)) {
    throw new RangeError(`invalid OID ${dotted}`);
  }
  const bytes: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) bytes.push(...base128(arc));
  return tlv(TAG.oid, Buffer.from(bytes));
}

function base128(value: bigint): number[] {
  const out = [Number(value & 0x7fn)];
  for (let rest = value >> 7n; rest > 0n; rest >>= 7n) out.unshift(Number(rest & 0x7fn) | 0x80);
  return out;
}

export const utf8String = (value: string): Buffer => tlv(TAG.utf8String, Buffer.from(value, "utf8"));

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

export function printableString(value: string): Buffer {
  if (!PRINTABLE.test(value)) throw new RangeError("value has characters outside PrintableString");
  return tlv(TAG.printableString, Buffer.from(value, "ascii"));
}

export const octetString = (content: Uint8Array): Buffer => tlv(TAG.octetString, content);

/** BIT STRING whose content is whole octets (signatures, public keys), or with `unusedBits` in the last. */
export function bitString(content: Uint8Array, unusedBits = 0): Buffer {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7) {
    throw new RangeError("unused bits must be 0..7");
  }
  return tlv(TAG.bitString, Buffer.from([unusedBits]), content);
}

/**
 * A named-bit BIT STRING (keyUsage): bit 0 is the most significant bit of the
 * first octet; DER drops trailing zero bits.
 */
export function namedBits(bits: readonly number[]): Buffer {
  if (bits.length === 0) return bitString(Buffer.alloc(0));
  const highest = Math.max(...bits);
  const octets = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) octets[Math.floor(bit / 8)] = (octets[Math.floor(bit / 8)] as number) | (0x80 >> (bit % 8));
  return bitString(octets, 7 - (highest % 8));
}

const twoDigits = (n: number): string => String(n).padStart(2, "0");

function checkDate(date: Date): void {
  if (Number.isNaN(date.getTime())) throw new RangeError("invalid date");
}

/** UTCTime `YYMMDDHHMMSSZ`, for years 1950–2049. */
export function utcTime(date: Date): Buffer {
  checkDate(date);
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 2049) throw new RangeError("UTCTime covers 1950 to 2049 only");
  return tlv(TAG.utcTime, Buffer.from(`${twoDigits(year % 100)}${timeOfYear(date)}Z`, "ascii"));
}

/** GeneralizedTime `YYYYMMDDHHMMSSZ` (whole seconds, as RFC 5280 requires). */
export function generalizedTime(date: Date): Buffer {
  checkDate(date);
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError("GeneralizedTime covers years 0 to 9999");
  return tlv(TAG.generalizedTime, Buffer.from(`${String(year).padStart(4, "0")}${timeOfYear(date)}Z`, "ascii"));
}

function timeOfYear(date: Date): string {
  return [date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()]
    .map(twoDigits)
    .join("");
}

/** RFC 5280 §4.1.2.5: UTCTime 1950–2049, GeneralizedTime otherwise. */
export function x509Time(date: Date): Buffer {
  checkDate(date);
  const year = date.getUTCFullYear();
  return year >= 1950 && year <= 2049 ? utcTime(date) : generalizedTime(date);
}

function contextTag(base: number, tagNumber: number): number {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > 30) throw new RangeError("tag number must be 0..30");
  return base | tagNumber;
}

/**
 * `[n]` constructed, context-specific: `[n] EXPLICIT` around complete encodings, or an
 * IMPLICIT SET OF / SEQUENCE OF given its elements (a CSR's `attributes [0]`).
 */
export const explicit = (tagNumber: number, ...contents: Uint8Array[]): Buffer =>
  tlv(contextTag(0xa0, tagNumber), ...contents);

/** `[n] IMPLICIT` on a primitive type: `content` under a context-specific tag (GeneralName dNSName `[2]`). */
export const implicit = (tagNumber: number, content: Uint8Array): Buffer => tlv(contextTag(0x80, tagNumber), content);

/** PEM armour of DER bytes, 64 characters a line. */
export function toPem(label: string, der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
