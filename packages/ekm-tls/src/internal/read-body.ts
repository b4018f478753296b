import type { Readable } from "node:stream";

/** Thrown by {@link readCappedBody} when the body is larger than the cap. */
export class BodyTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`response body exceeds ${limitBytes} bytes`);
  }
}

/**
 * Reads a response body into one Buffer, refusing (and destroying the stream) as soon as
 * it would exceed `limitBytes`, judged first by `content-length` when there is one.
 */
export async function readCappedBody(
  body: Readable,
  contentLength: string | string[] | undefined,
  limitBytes: number,
): Promise<Buffer> {
  const declared = typeof contentLength === "string" ? Number(contentLength) : Number.NaN;
  if (Number.isFinite(declared) && declared > limitBytes) {
    discard(body);
    throw new BodyTooLargeError(limitBytes);
  }
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of body) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    received += bytes.length;
    if (received > limitBytes) {
      discard(body);
      throw new BodyTooLargeError(limitBytes);
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, received);
}

/** Aborts the response; on HTTP/1.1 that also closes the connection. */
function discard(body: Readable): void {
  body.on("error", () => {}).destroy();
}
