import { isIPv4 } from "node:net";

/**
 * Which URLs the verifier may fetch keys from: https anywhere, http only on loopback
 * (the emulator serves http on 127.0.0.1). No credentials, query or fragment.
 */
export function fetchableUrlProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return "must be a string";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an absolute URL";
  }
  if (url.username !== "" || url.password !== "") return "must not contain credentials";
  if (url.search !== "" || url.hash !== "") return "must not have a query or fragment";
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) return undefined;
  return "must be https (http is allowed only on loopback: 127.0.0.0/8, ::1, localhost)";
}

/** `hostname` as the WHATWG URL parser normalizes it (IPv4 in dotted decimal, IPv6 in brackets). */
function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || (isIPv4(hostname) && hostname.startsWith("127."));
}
