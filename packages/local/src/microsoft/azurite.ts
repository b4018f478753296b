import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeServer } from "../internal/http.js";
import { FaultQueue, type LocalServer, localServerHandle } from "../internal/local-server.js";
import { type LocalAzuriteRequest, startAzuriteProxy } from "./internal/azurite-proxy.js";

export type { LocalAzuriteRequest } from "./internal/azurite-proxy.js";

/** Options of {@link startAzurite}. */
export interface AzuriteOptions {
  /** PEM certificate and key files for HTTPS (Azurite `--cert`/`--key`); required, since OAuth needs HTTPS. */
  tls: { certPath: string; keyPath: string };
  /** Check bearer tokens (`--oauth basic`: `iss`, `aud`, `nbf`/`exp`, no signature). Default `true`. */
  oauth?: boolean;
  /** How long to wait for Azurite to listen, ms. Default 30 000. */
  startTimeoutMs?: number;
}

/**
 * A running Azurite blob service behind a recording, fault-injecting HTTPS proxy on
 * another loopback port (same certificate). Faults and delays reach every request; a
 * fault without `body` answers Azure Storage's XML error with `x-ms-error-code` = `code`
 * (default `ServerBusy` for 503, `InternalError` other 5xx, `AuthenticationFailed` 403,
 * `ResourceNotFound` 404, else `InvalidInput`). `close()` stops Azurite (SIGTERM, then
 * SIGKILL after 5 s) and removes its working directory.
 */
export interface LocalAzurite extends LocalServer<LocalAzuriteRequest> {
  /** `https://127.0.0.1:PORT` (the proxy). */
  readonly blobEndpoint: string;
  /** The well-known development account, `devstoreaccount1`. */
  readonly accountName: string;
  /** `https://127.0.0.1:PORT/devstoreaccount1`: the URL for `new BlobServiceClient(url, credential)`. */
  readonly accountUrl: string;
  /** The Azurite process id. */
  readonly pid: number;
}

const ACCOUNT = "devstoreaccount1";

/**
 * Starts the Azurite 3 blob service (a root devDependency) as a child process on
 * 127.0.0.1 with an OS-assigned port, HTTPS, in-memory storage, telemetry off and the
 * API version check skipped (`@azure/storage-blob` 12.34 speaks a newer version than
 * Azurite 3.37 knows). With `oauth` (default) it accepts bearer tokens as Azure Storage
 * does for Entra v1 tokens: `iss` `https://sts.windows.net/{tenant}/`, `aud`
 * `https://storage.azure.com`, valid `nbf`/`exp` — signatures are not checked.
 *
 * Clients must trust the certificate's CA: `trustCaInProcess` in this process,
 * `NODE_EXTRA_CA_CERTS` in others.
 */
export async function startAzurite(options: AzuriteOptions): Promise<LocalAzurite> {
  const main = createRequire(import.meta.url).resolve("azurite/dist/src/blob/main.js");
  const cwd = await mkdtemp(join(tmpdir(), "confspace-azurite-"));
  const args = [
    main,
    "--blobHost",
    "127.0.0.1",
    "--blobPort",
    "0",
    "--cert",
    options.tls.certPath,
    "--key",
    options.tls.keyPath,
    ...(options.oauth === false ? [] : ["--oauth", "basic"]),
    "--skipApiVersionCheck",
    "--inMemoryPersistence",
    "--extentMemoryLimit",
    "64",
    "--disableTelemetry",
    "--silent",
    "--loose",
  ];
  // process.execPath: the Node running us (≥ 22, as Azurite needs), and signals reach it directly.
  const child = spawn(process.execPath, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_096);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const faults = new FaultQueue("startAzurite");
  const requests: LocalAzuriteRequest[] = [];
  let proxy: Awaited<ReturnType<typeof startAzuriteProxy>> | undefined;
  const stop = async () => {
    if (proxy) {
      await closeServer(proxy.server);
      proxy.close();
    }
    await terminate(child);
    await rm(cwd, { recursive: true, force: true });
  };
  try {
    const direct = new URL(await waitForEndpoint(child, () => output, options.startTimeoutMs ?? 30_000));
    const [certPem, keyPem] = await Promise.all([
      readFile(options.tls.certPath, "utf8"),
      readFile(options.tls.keyPath, "utf8"),
    ]);
    proxy = await startAzuriteProxy({ targetPort: Number(direct.port), certPem, keyPem, faults, requests });
  } catch (error) {
    await stop();
    throw error;
  }
  const blobEndpoint = `https://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
  return {
    ...localServerHandle(requests, faults, stop),
    blobEndpoint,
    accountName: ACCOUNT,
    accountUrl: `${blobEndpoint}/${ACCOUNT}`,
    pid: child.pid ?? -1,
  };
}

function waitForEndpoint(child: ChildProcess, output: () => string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = /successfully listens on (https?:\/\/[^\s]+)/.exec(output());
      if (match?.[1] !== undefined) {
        done();
        resolve(match[1]);
      }
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`Azurite exited (code ${code}) before listening:\n${output()}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`Azurite did not listen within ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    function done() {
      clearTimeout(timer);
      child.stdout?.off("data", check);
      child.off("exit", onExit);
    }
    child.stdout?.on("data", check);
    child.once("exit", onExit);
  });
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
