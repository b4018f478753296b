import type { IncomingMessage } from "node:http";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { BodyReadError, BodyTooLargeError, readBody } from "./http.js";

function fakeRequest(headers: Record<string, string> = {}): PassThrough & IncomingMessage {
  const stream = new PassThrough() as PassThrough & IncomingMessage;
  (stream as { headers: Record<string, string> }).headers = headers;
  return stream;
}

describe("readBody", () => {
  it("reads a body in chunks", async () => {
    const req = fakeRequest();
    const body = readBody(req, 10);
    req.write("abc");
    req.end("def");
    expect((await body).toString()).toBe("abcdef");
  });

  it("refuses a declared length over the limit before reading", async () => {
    await expect(readBody(fakeRequest({ "content-length": "11" }), 10)).rejects.toBeInstanceOf(BodyTooLargeError);
  });

  it("cuts a chunked body that grows past the limit", async () => {
    const req = fakeRequest();
    const body = readBody(req, 10);
    req.write("123456");
    req.write("7890X");
    await expect(body).rejects.toBeInstanceOf(BodyTooLargeError);
  });

  it("fails when the connection closes mid-body", async () => {
    const req = fakeRequest();
    const body = readBody(req, 10);
    req.write("12");
    req.destroy();
    await expect(body).rejects.toBeInstanceOf(BodyReadError);
  });
});
