import { describe, expect, it } from "vitest";
import { FetchJsonError, fetchJson } from "./bounded-fetch.js";

const URL_ = "https://keys.example/jwks";
const respond = (response: () => Response) => ({ fetch: async () => response(), timeoutMs: 1_000, maxBytes: 1_024 });
const json = (body: string | Uint8Array, headers: Record<string, string> = {}) =>
  new Response(body, { status: 200, headers: { "content-type": "application/json", ...headers } });

describe("fetchJson", () => {
  it("parses a JSON object, application/jwk-set+json included", async () => {
    await expect(
      fetchJson(
        URL_,
        respond(() => json('{"keys":[]}')),
      ),
    ).resolves.toEqual({ keys: [] });
    const jwkSet = () => new Response("{}", { headers: { "content-type": "application/jwk-set+json; charset=utf-8" } });
    await expect(fetchJson(URL_, respond(jwkSet))).resolves.toEqual({});
  });

  const refused: [string, () => Response, RegExp][] = [
    [
      "a 404",
      () => new Response("{}", { status: 404, headers: { "content-type": "application/json" } }),
      /^https:\/\/keys\.example\/jwks answered HTTP 404$/,
    ],
    ["a JSON number", () => json("1"), /JSON that is not an object/],
    ["a JSON string", () => json('"keys"'), /JSON that is not an object/],
    [
      'invalid UTF-8 inside a JSON string (lenient decoding would read {"k":"\ufffd"})',
      () => json(Buffer.from([...Buffer.from('{"k":"'), 0xff, ...Buffer.from('"}')])),
      /not UTF-8 JSON/,
    ],
    [
      "a 304 handed back by a fetch that ignored redirect: error",
      () => new Response(null, { status: 304 }),
      /HTTP 304/,
    ],
    ["text/plain", () => new Response("{}", { headers: { "content-type": "text/plain" } }), /non-JSON media type/],
    ["no media type", () => new Response(new Uint8Array([0x7b, 0x7d])), /non-JSON media type/],
    ["a declared length over the cap", () => json("{}", { "content-length": "5000" }), /more than 1024 bytes/],
    ["a body over the cap", () => json(`{"x":"${"a".repeat(2_000)}"}`), /more than 1024 bytes/],
    [
      "invalid UTF-8",
      () => new Response(new Uint8Array([0x7b, 0xff, 0x7d]), { headers: { "content-type": "application/json" } }),
      /not UTF-8 JSON/,
    ],
    ["a JSON array", () => json("[]"), /JSON that is not an object/],
    ["an empty body", () => json(""), /not UTF-8 JSON/],
    ["no body at all", () => new Response(null, { headers: { "content-type": "application/json" } }), /not UTF-8 JSON/],
    ["application/jsonp", () => json("{}", { "content-type": "application/jsonp" }), /non-JSON media type/],
    ["xapplication/json", () => json("{}", { "content-type": "xapplication/json" }), /non-JSON media type/],
    ["a suffix without a name", () => json("{}", { "content-type": "application/+json" }), /non-JSON media type/],
    [
      "a 200 reached through a redirect",
      () => {
        const response = json("{}");
        Object.defineProperty(response, "redirected", { value: true });
        return response;
      },
      /answered HTTP 200 after a redirect/,
    ],
    ["JSON null", () => json("null"), /not an object/],
  ];
  it.each(refused)("refuses %s", async (_name, response, message) => {
    const error = await fetchJson(URL_, respond(response)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FetchJsonError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain("https://keys.example/jwks");
  });

  it.each([
    ["upper-case JSON", "Application/JSON"],
    ["parameters and spaces", " application/json ; charset=utf-8"],
    ["a +json suffix", "application/vnd.example.v1+json"],
  ])("accepts a media type with %s", async (_name, contentType) => {
    await expect(
      fetchJson(
        URL_,
        respond(() => json("{}", { "content-type": contentType })),
      ),
    ).resolves.toEqual({});
  });

  it("accepts a body of exactly maxBytes, declared or not", async () => {
    const body = `{"x":"${"a".repeat(1_024 - 8)}"}`;
    expect(Buffer.byteLength(body)).toBe(1_024);
    await expect(
      fetchJson(
        URL_,
        respond(() => json(body)),
      ),
    ).resolves.toMatchObject({ x: expect.any(String) });
    const declared = () => json(body, { "content-length": "1024" });
    await expect(fetchJson(URL_, respond(declared))).resolves.toMatchObject({ x: expect.any(String) });
  });

  it("asks for JSON with a GET, no redirects and the timeout signal", async () => {
    let seen: RequestInit | undefined;
    await fetchJson(URL_, {
      fetch: async (_url, init) => {
        seen = init;
        return json("{}");
      },
      timeoutMs: 1_000,
      maxBytes: 1_024,
    });
    expect(seen).toMatchObject({ method: "GET", redirect: "error", headers: { accept: "application/json" } });
    expect(seen?.signal).toBeInstanceOf(AbortSignal);
  });

  it("stops reading a body over the cap and cancels it", async () => {
    let pulls = 0;
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls += 1;
        controller.enqueue(new Uint8Array(512).fill(0x20));
      },
      cancel() {
        cancelled = true;
      },
    });
    const response = () => new Response(endless, { headers: { "content-type": "application/json" } });
    await expect(fetchJson(URL_, respond(response))).rejects.toThrow(/more than 1024 bytes/);
    expect(cancelled).toBe(true);
    expect(pulls).toBeLessThan(6);
  });

  it("cancels the body of an answer it refuses before reading", async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      cancel() {
        cancelled = true;
      },
    });
    const response = () => new Response(body, { status: 500, headers: { "content-type": "application/json" } });
    await expect(fetchJson(URL_, respond(response))).rejects.toThrow(/HTTP 500/);
    expect(cancelled).toBe(true);
  });

  it("wraps a body that fails mid-read, naming the endpoint", async () => {
    const cause = new Error("connection reset");
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(cause);
      },
    });
    const response = () => new Response(broken, { headers: { "content-type": "application/json" } });
    const error = (await fetchJson(URL_, respond(response)).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(FetchJsonError);
    expect(error.message).toBe("reading the answer of https://keys.example/jwks failed");
    expect(error.cause).toBe(cause);
  });

  it("keeps the parse error as the cause, and names itself", async () => {
    const error = (await fetchJson(
      URL_,
      respond(() => json("{")),
    ).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe("FetchJsonError");
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it("names an unparsable URL generically", async () => {
    const error = (await fetchJson(
      "not a url",
      respond(() => json("[]")),
    ).catch((e: unknown) => e)) as Error;
    expect(error.message).toBe("the key endpoint answered JSON that is not an object");
  });

  it("wraps a network failure without rewriting its message", async () => {
    const cause = new TypeError("fetch failed");
    const error = await fetchJson(URL_, {
      fetch: async () => Promise.reject(cause),
      timeoutMs: 1_000,
      maxBytes: 1_024,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FetchJsonError);
    expect((error as Error).message).toBe("request to https://keys.example/jwks failed");
    expect((error as Error).cause).toBe(cause);
  });

  it("never puts the response body in the message", async () => {
    const error = (await fetchJson(
      URL_,
      respond(() => json('["secret-body"]')),
    ).catch((e: unknown) => e)) as Error;
    expect(error.message).not.toContain("secret-body");
  });
});
