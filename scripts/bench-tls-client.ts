// The load generator of the broker benchmarks: token requests, each on a new TLS 1.3
// connection (connect, read the EKM, mint a token bound to it, POST it), in fixed lanes.
import tls from "node:tls";
import { BROKER_EKM_LABEL, BROKER_EKM_LENGTH } from "../packages/ekm-tls/src/index.ts";

/** Builds the request body from the connection's exported keying material. */
export type BodyFor = (ekm: Buffer) => Promise<string>;

/** One POST /v1/token on a new TLS 1.3 connection; resolves with the HTTP status. */
export function oneRequest(port: number, ca: string, audience: string, body: BodyFor): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      ca,
      servername: "localhost",
      minVersion: "TLSv1.3",
      maxVersion: "TLSv1.3",
      ALPNProtocols: ["http/1.1"],
    });
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      socket.end();
      const head = Buffer.concat(chunks).toString("latin1", 0, 16);
      resolvePromise(Number(head.slice(9, 12)));
    });
    socket.once("secureConnect", async () => {
      try {
        const ekm = socket.exportKeyingMaterial(BROKER_EKM_LENGTH, BROKER_EKM_LABEL, Buffer.from(audience));
        const payload = await body(ekm);
        // write, not end: a half-closed connection is closed by Node's HTTP server before
        // an asynchronous handler answers. The server closes (Connection: close).
        socket.write(
          `POST /v1/token HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\n` +
            `content-length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
        );
      } catch (error) {
        socket.destroy(error as Error);
      }
    });
  });
}

/** What a series of {@link runLanes} calls measured. */
export interface Tally {
  latencies: number[];
  seconds: number;
  count: number;
  failures: number;
}

export const tally = (): Tally => ({ latencies: [], seconds: 0, count: 0, failures: 0 });

/** `count` requests from `concurrency` lanes, each waiting for its answer before the next; added to `into`. */
export async function runLanes(
  request: () => Promise<number>,
  count: number,
  concurrency: number,
  into: Tally,
): Promise<void> {
  let issued = 0;
  const started = performance.now();
  const lane = async () => {
    while (issued < count) {
      issued += 1;
      const t0 = performance.now();
      const status = await request().catch((error: Error) => {
        if (process.env.BENCH_DEBUG) console.error(error.message);
        return 0;
      });
      into.latencies.push(performance.now() - t0);
      if (status !== 200) {
        into.failures += 1;
        if (process.env.BENCH_DEBUG) console.error(`status ${status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  into.seconds += (performance.now() - started) / 1000;
  into.count += count;
}

/** The latency at quantile `q` (0–1), ms. */
export function quantile(t: Tally, q: number): number {
  const sorted = [...t.latencies].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
