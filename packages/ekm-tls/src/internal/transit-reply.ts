// What a transit API reply means: the data object of a 2xx, or the KeyServiceError its
// status and Vault-style `errors` say.
import type { KeyServiceError, KeyServiceErrorCode } from "../key-service-error.js";

/** Who asked what, and how this client builds its errors. */
export interface TransitCall {
  operation: string;
  keyName: string;
  origin: string;
  fail(
    code: KeyServiceErrorCode,
    text: string,
    extra?: { status?: number; description?: string; cause?: unknown },
  ): KeyServiceError;
}

/** The reply's `data` object; throws the KeyServiceError for anything else. */
export function readTransitReply(status: number, body: Buffer, call: TransitCall): Record<string, unknown> {
  const { operation, keyName, origin, fail } = call;
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    json = undefined;
  }
  const object = isObject(json) ? json : undefined;
  if (status >= 200 && status < 300) {
    const data = object?.data;
    if (!isObject(data)) {
      throw fail(
        "ERR_KEY_SERVICE_PROTOCOL",
        `answered ${operation} without a data object; is ${origin} a transit API?`,
        {
          status,
        },
      );
    }
    return data;
  }
  const errors = object?.errors;
  const description = Array.isArray(errors)
    ? errors
        .filter((e): e is string => typeof e === "string")
        .join("; ")
        .slice(0, 512)
    : undefined;
  const said = `${operation} with key "${keyName}" (HTTP ${status})`;
  if (status === 401 || status === 403) {
    throw fail(
      "ERR_KEY_SERVICE_DENIED",
      `refused ${said}; does the certificate's grant list this key? (see description)`,
      {
        status,
        description,
      },
    );
  }
  if (status === 400 || status === 404) {
    throw fail(
      "ERR_KEY_SERVICE_REQUEST",
      `refused ${said}: unknown key, or a ciphertext it cannot decrypt (see description)`,
      { status, description },
    );
  }
  if (status >= 500) {
    throw fail("ERR_KEY_SERVICE_UNAVAILABLE", `could not serve ${said}; retry later`, { status, description });
  }
  throw fail("ERR_KEY_SERVICE_PROTOCOL", `answered ${said}, which is not the transit API`, { status, description });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
