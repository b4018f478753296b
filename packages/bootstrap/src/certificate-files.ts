// The workload certificate as files for servers that read them (OpenBao's seal "transit"
// `tls_client_cert`, `tls_client_key`, `tls_ca_cert`), kept fresh: obtained from the token
// broker, written atomically, renewed at the broker's `refresh_in` by core's lifecycle
// engine (single flight, backoff with jitter after failures), with the same private key
// for the whole run so `tls.key` never changes under a reader.
import { randomBytes } from "node:crypto";
import { lstat, mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  type Clock,
  InvalidOptionError,
  type Logger,
  noopLogger,
  systemClock,
  TokenCache,
  type TokenCacheEvent,
} from "@confspace/core";
import {
  requestWorkloadCertificate,
  type WorkloadCertificate,
  type WorkloadCertificateRequest,
} from "@confspace/ekm-tls";
import { SecretTargetError } from "./errors.js";

/** The files written into `outDir`. */
export const CERTIFICATE_FILES = Object.freeze({
  /** The client certificate (PEM), 0644: OpenBao's `tls_client_cert`. */
  certificate: "tls.crt",
  /** Its private key (PKCS#8 PEM), 0600: `tls_client_key`. */
  privateKey: "tls.key",
  /** The CA of the key service's server certificate (PEM), 0644: `tls_ca_cert`. Only with `serverCaPem`. */
  serverCa: "ca.crt",
  /** The broker's workload CA, which signed `tls.crt` (PEM), 0644. */
  workloadCa: "workload-ca.crt",
});

/** Options of {@link writeCertificateFiles}. */
export interface CertificateFilesOptions {
  /** CA certificate(s) (PEM) that verify the key service's server certificate, written as `ca.crt`. Default: no `ca.crt`. */
  serverCaPem?: string;
}

/**
 * Writes `tls.crt`, `tls.key` (0600), `workload-ca.crt` and, with `serverCaPem`, `ca.crt`
 * into `outDir` (created 0700 when missing; a symlink or a directory others may write
 * is refused). Each file is written to a temp file beside it, flushed, then renamed, so a
 * reader sees the old file or the new one, never a part.
 */
export async function writeCertificateFiles(
  outDir: string,
  certificate: Pick<WorkloadCertificate, "certificatePem" | "privateKeyPem" | "caPem">,
  options: CertificateFilesOptions = {},
): Promise<void> {
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  const info = await lstat(outDir);
  if (!info.isDirectory()) {
    throw new SecretTargetError(outDir, `${outDir} is not a directory (a symlink is refused)`);
  }
  if ((info.mode & 0o002) !== 0) {
    throw new SecretTargetError(outDir, `${outDir} is writable by others; use a private directory (0700)`);
  }
  const files: Array<[string, string, number]> = [
    ...(options.serverCaPem !== undefined
      ? [[CERTIFICATE_FILES.serverCa, options.serverCaPem, 0o644] as [string, string, number]]
      : []),
    [CERTIFICATE_FILES.workloadCa, certificate.caPem, 0o644],
    [CERTIFICATE_FILES.privateKey, certificate.privateKeyPem, 0o600],
    [CERTIFICATE_FILES.certificate, certificate.certificatePem, 0o644],
  ];
  for (const [name, content, mode] of files) await writeAtomically(join(outDir, name), content, mode);
}

async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temp, "wx", mode);
  try {
    await handle.writeFile(content);
    await handle.chmod(mode);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temp, path);
}

/** Options of {@link startCertificateRenewal}: where to write, the broker request (as `requestWorkloadCertificate`), and timing. */
export interface CertificateRenewalOptions extends Omit<WorkloadCertificateRequest, "privateKey" | "signal" | "clock"> {
  /** Directory for the files (see {@link CERTIFICATE_FILES}). Required. */
  outDir: string;
  /** CA certificate(s) (PEM) of the key service's server certificate, written as `ca.crt`. Default: none. */
  serverCaPem?: string;
  /** Backoff after a failed renewal. Defaults: first 1 000 ms, doubling, at most 60 000 ms, half of each delay random. */
  retry?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Progress and failures (grant, expiry, error code; never a key). Default: none. */
  logger?: Logger;
  /** Time and timers. Default the system clock. */
  clock?: Clock;
  /** Called after each certificate is written (e.g. to reload a server). Errors it throws are logged. */
  onRenewed?: (certificate: WorkloadCertificate) => void;
}

/** A running renewal (see {@link startCertificateRenewal}). */
export interface CertificateRenewal {
  /** Resolves with the first certificate once its files are written; rejects if that first attempt fails (renewal keeps trying). */
  readonly ready: Promise<WorkloadCertificate>;
  /** The certificate most recently written, while it is valid. */
  current(): WorkloadCertificate | undefined;
  /** Stops renewing (timers cleared, a request in flight abandoned). The files stay. Idempotent. */
  stop(): void;
}

const KEY = "workload-certificate";

/**
 * Obtains a workload certificate, writes its files, and keeps them fresh until `stop()`:
 * a new certificate (same private key) at each `refreshAt`, retried with exponential
 * backoff and jitter after a failure — also after the certificate expired — while the
 * files keep the last good one. The private key is generated once per renewal (per run)
 * and only ever written to `tls.key`.
 *
 * @example
 * ```ts
 * const renewal = startCertificateRenewal({
 *   outDir: "/run/confspace",
 *   brokerUrl: "https://broker.example:8443",
 *   audience: "https://broker.example",
 * });
 * await renewal.ready; // tls.crt, tls.key, workload-ca.crt written
 * ```
 */
export function startCertificateRenewal(options: CertificateRenewalOptions): CertificateRenewal {
  const { outDir, serverCaPem, retry, logger = noopLogger, clock = systemClock, onRenewed, ...request } = options;
  if (typeof outDir !== "string" || outDir === "")
    throw new InvalidOptionError("outDir", "outDir must be a directory path");
  if (serverCaPem !== undefined && !String(serverCaPem).includes("-----BEGIN CERTIFICATE-----")) {
    throw new InvalidOptionError("serverCaPem", "serverCaPem must be PEM CA certificate(s)");
  }
  let privateKey: WorkloadCertificate["privateKey"] | undefined;
  let stopped = false;
  const retryTimers = new Set<unknown>();
  const { keyType, ...rest } = request;
  const cache: TokenCache<string, WorkloadCertificate> = new TokenCache({
    name: "workload certificate",
    clock,
    ...(retry !== undefined && { retry }),
    fetch: async (_key, { signal }) => {
      const certificate = await requestWorkloadCertificate({
        ...rest,
        ...(privateKey === undefined ? keyType !== undefined && { keyType } : { privateKey }),
        signal,
        clock,
      });
      await writeCertificateFiles(outDir, certificate, serverCaPem === undefined ? {} : { serverCaPem });
      privateKey = certificate.privateKey;
      logger.info("workload certificate written", {
        outDir,
        grant: certificate.grant,
        expiresAt: new Date(certificate.expiresAt).toISOString(),
        refreshAt: new Date(certificate.refreshAt).toISOString(),
      });
      try {
        onRenewed?.(certificate);
      } catch (error) {
        logger.warn("onRenewed failed", { error: errorCode(error) });
      }
      return { value: certificate, expiresAt: certificate.expiresAt, refreshAfter: certificate.refreshAt };
    },
    onEvent: (event: TokenCacheEvent) => {
      if (event.type !== "refresh-failure" || stopped) return;
      const error = event.error as { code?: unknown; check?: unknown };
      logger.warn("workload certificate renewal failed", {
        error: errorCode(error),
        ...(typeof error?.check === "string" && { check: error.check }),
        attempt: event.attempt,
        retryInMs: event.retryInMs,
      });
      // The engine retries on its own only while a valid certificate is left; after that, this does.
      const timer = clock.setTimeout(() => {
        retryTimers.delete(timer);
        if (!stopped) cache.get(KEY).catch(() => {});
      }, event.retryInMs + 1);
      retryTimers.add(timer);
    },
  });
  const ready = cache.get(KEY);
  ready.catch(() => {});
  return {
    ready,
    current: () => cache.peek(KEY),
    stop() {
      stopped = true;
      for (const timer of retryTimers) clock.clearTimeout(timer);
      retryTimers.clear();
      cache.dispose();
    },
  };
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : error instanceof Error ? error.name : "failed";
}
