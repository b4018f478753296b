import { describe, expect, it } from "vitest";
import { FetchJsonError, fetchJson } from "./bounded-fetch.js";

const URL_ = "https://keys.example/jwks";
const respond = (response: () => Response) => ({ fetch: async () => response(), timeoutMs: 1_000, maxBytes: 1_024 });
const json = (body: string, headers: Record<string, string> = {}) =>
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
    ["a 404", () => new Response("{}", { status: 404, headers: { "content-type": "application/json" } }), /HTTP 404/],
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
    ["a JSON array", () => json("[]"), /not an object/],
    ["JSON null", () => json("null"), /not an object/],
  ];
  it.each(refused)("refuses %s", async (_name, response, message) => {
    const error = await fetchJson(URL_, respond(response)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FetchJsonError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain("https://keys.example/jwks");
  });

  it("wraps a network failure without rewriting its message", async () => {
    const cause = new TypeError("fetch failed");
    const error = await fetchJson(URL_, {
      fetch: async () => Promise.reject(cause),
      timeoutMs: 1_000,
      maxBytes: 1_024,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FetchJsonError);
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
