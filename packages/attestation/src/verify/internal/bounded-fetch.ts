/** Why {@link fetchJson} failed. The message names the URL's origin and path, never the body. */
export class FetchJsonError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FetchJsonError";
  }
}

/** Options of {@link fetchJson}. */
export interface FetchJsonOptions {
  fetch: typeof globalThis.fetch;
  /** Whole request, body included, in ms. */
  timeoutMs: number;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
}

/**
 * GETs `url` and parses a JSON object from the body, refusing redirects, non-200
 * statuses, non-JSON media types and bodies over `maxBytes` (counted while reading, so a
 * huge or endless body costs at most `maxBytes` of memory).
 */
export async function fetchJson(url: string, options: FetchJsonOptions): Promise<Record<string, unknown>> {
  const where = describe(url);
  const signal = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await options.fetch(url, {
      method: "GET",
      redirect: "error",
      signal,
      headers: { accept: "application/json" },
    });
  } catch (cause) {
    throw new FetchJsonError(`request to ${where} failed`, { cause });
  }
  try {
    // redirect: "error" already makes a conforming fetch throw; a custom one might not.
    if (response.redirected || response.status !== 200) {
      throw new FetchJsonError(
        `${where} answered HTTP ${response.status}${response.redirected ? " after a redirect" : ""}`,
      );
    }
    // Stryker disable next-line StringLiteral: without a content-type, any filler fails the test below alike
    const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (!/^application\/([a-z0-9.+-]+\+)?json$/.test(mediaType)) {
      throw new FetchJsonError(`${where} answered a non-JSON media type`);
    }
    const declared = Number(response.headers.get("content-length") ?? Number.NaN);
    if (declared > options.maxBytes) throw new FetchJsonError(`${where} answered more than ${options.maxBytes} bytes`);
    const body = await readCapped(response, options.maxBytes, where);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
    } catch (cause) {
      throw new FetchJsonError(`${where} answered a body that is not UTF-8 JSON`, { cause });
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new FetchJsonError(`${where} answered JSON that is not an object`);
    }
    return parsed as Record<string, unknown>;
  } catch (error) {
    await response.body?.cancel().catch(() => {});
    if (error instanceof FetchJsonError) throw error;
    throw new FetchJsonError(`reading the answer of ${where} failed`, { cause: error });
  }
}

async function readCapped(response: Response, maxBytes: number, where: string): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new FetchJsonError(`${where} answered more than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/** Origin and path: enough to find the endpoint in logs. */
function describe(url: string): string {
  try {
    const { origin, pathname } = new URL(url);
    return origin + pathname;
  } catch {
    return "the key endpoint";
  }
}
