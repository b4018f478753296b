import type { IncomingMessage, ServerResponse } from "node:http";

/** The request body exceeded the limit (declared or actual). */
export class BodyTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`request body larger than ${limitBytes} bytes`);
  }
}

/** The request body could not be read (client aborted, socket error). */
export class BodyReadError extends Error {}

/**
 * Reads the whole body, refusing more than `limitBytes`: a `Content-Length` above the
 * limit is refused before reading, a body that grows past it is cut off.
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limitBytes) {
    req.resume();
    return Promise.reject(new BodyTooLargeError(limitBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        chunks.length = 0;
        // Keep discarding what the client still sends: the reply goes out with
        // `Connection: close`, and a socket closed with unread data would reset it.
        req.resume();
        finish(new BodyTooLargeError(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onError = (error: Error) => finish(new BodyReadError("request body could not be read", { cause: error }));
    const onClose = () => finish(new BodyReadError("connection closed before the request body was complete"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

const BASE_HEADERS = {
  "cache-control": "no-store",
  pragma: "no-cache",
  "x-content-type-options": "nosniff",
};

/** Sends a JSON reply with no-store caching headers. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...BASE_HEADERS,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Sends a plain-text reply. */
export function sendText(res: ServerResponse, status: number, text: string, contentType: string): void {
  res.writeHead(status, {
    ...BASE_HEADERS,
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
