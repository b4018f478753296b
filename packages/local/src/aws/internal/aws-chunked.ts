/**
 * Decodes an `aws-chunked` body with unsigned chunks (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`,
 * what the SDK sends for streams): `hex-size\r\n data \r\n` … `0\r\n` trailers `\r\n`.
 * Returns the payload and the trailer headers, or `undefined` when the framing is broken.
 */
export function decodeAwsChunked(body: Buffer): { payload: Buffer; trailers: Map<string, string> } | undefined {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf("\r\n", offset);
    if (lineEnd < 0) return undefined;
    const sizeText = body.subarray(offset, lineEnd).toString("latin1").split(";")[0]!;
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) return undefined;
    const size = Number.parseInt(sizeText, 16);
    offset = lineEnd + 2;
    if (size === 0) break;
    if (offset + size + 2 > body.length || body.toString("latin1", offset + size, offset + size + 2) !== "\r\n") {
      return undefined;
    }
    parts.push(body.subarray(offset, offset + size));
    offset += size + 2;
  }
  const trailers = new Map<string, string>();
  for (const line of body.subarray(offset).toString("latin1").split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return undefined;
    trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { payload: Buffer.concat(parts), trailers };
}
