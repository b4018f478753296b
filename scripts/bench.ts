// `pnpm bench`: side-by-side throughput of confspace's hot paths against their peers,
// on this machine, in one run. Prints ops/s and ratios, then each package's cold import time
// (scripts/bench-import.ts, needs `pnpm build`); it is a measurement, not a test.
import { randomBytes } from "node:crypto";
import { ClientSecretCredential } from "@azure/identity";
import { TokenCache } from "@confspace/core";
import { startLocalStack } from "@confspace/testing";
import { memoize } from "@smithy/property-provider";
import { IdentityPoolClient } from "google-auth-library";
import { benchBroker } from "./bench-broker.ts";
import { benchFlood } from "./bench-flood.ts";
import { benchImports, printImportCosts } from "./bench-import.ts";
import { benchTransit } from "./bench-transit.ts";

const HOUR = 3_600_000;
const ROUNDS = 5;
const ROUND_MS = 400;

interface Result {
  name: string;
  opsPerSec: number;
}

/** Median ops/s of `fn` awaited back to back, over ROUNDS rounds of ROUND_MS each. */
async function measure(name: string, fn: () => Promise<unknown>): Promise<Result> {
  for (let i = 0; i < 20_000; i++) await fn(); // warm-up, JIT
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let ops = 0;
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(ROUND_MS * 1e6);
    let now = start;
    while (now < deadline) {
      for (let i = 0; i < 1_000; i++) await fn();
      ops += 1_000;
      now = process.hrtime.bigint();
    }
    rates.push(ops / (Number(now - start) / 1e9));
  }
  rates.sort((a, b) => a - b);
  return { name, opsPerSec: rates[Math.floor(rates.length / 2)]! };
}

const format = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0);

function table(results: Result[], baseline: Result): void {
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    const ratio = baseline.opsPerSec / r.opsPerSec;
    console.log(
      `  ${r.name.padEnd(width)}  ${format(r.opsPerSec).padStart(9)} ops/s   ${ratio.toFixed(2)}× the floor's time per op`,
    );
  }
}

async function cacheHit(): Promise<void> {
  console.log("\n# Cache hit: warm get of a valid credential");
  const results: Result[] = [];

  // The floor: an async Map lookup with an expiry check and nothing else.
  const map = new Map([["scope", { value: "token", expiresAt: Date.now() + HOUR }]]);
  const bare = async (key: string) => {
    const entry = map.get(key);
    if (entry !== undefined && Date.now() < entry.expiresAt) return entry.value;
    throw new Error("miss");
  };
  const floor = await measure("bare async Map + expiry check", () => bare("scope"));
  results.push(floor);

  const cache = new TokenCache<string, string>({
    fetch: async () => ({ value: "token", expiresAt: Date.now() + HOUR }),
  });
  await cache.get("scope");
  results.push(await measure("@confspace/core TokenCache.get", () => cache.get("scope")));

  const provider = memoize(
    async () => ({ accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x", expiration: new Date(Date.now() + HOUR) }),
    (c) => c.expiration !== undefined && c.expiration.getTime() - Date.now() < 300_000,
    (c) => c.expiration !== undefined,
  );
  await provider();
  results.push(await measure("@smithy memoize (warm provider)", () => provider()));

  const peers = await startPeers();
  try {
    results.push(await measure("google-auth-library IdentityPoolClient", () => peers.gal.getAccessToken()));
    results.push(
      await measure("@azure/identity ClientSecretCredential", () =>
        peers.azure.getToken("https://storage.azure.com/.default"),
      ),
    );
  } finally {
    await peers.stop();
    cache.dispose();
  }
  table(results, floor);
  const core = results[1]!;
  const ratio = floor.opsPerSec / core.opsPerSec;
  console.log(`  target: core within 1.5× of the floor → ${ratio.toFixed(2)}× ${ratio <= 1.5 ? "(met)" : "(NOT met)"}`);
}

async function fanIn(): Promise<void> {
  console.log("\n# Fan-in: 10 000 concurrent callers on a cold key");
  let upstreamCalls = 0;
  const cache = new TokenCache<string, string>({
    fetch: async () => {
      upstreamCalls += 1;
      await new Promise((resolve) => setTimeout(resolve, 5)); // an upstream round trip
      return { value: "token", expiresAt: Date.now() + HOUR };
    },
  });
  const start = process.hrtime.bigint();
  const values = await Promise.all(Array.from({ length: 10_000 }, () => cache.get("cold")));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  cache.dispose();
  const same = values.every((v) => v === "token");
  console.log(
    `  upstream calls: ${upstreamCalls} (must be 1)   all settled in ${ms.toFixed(1)} ms   same value: ${same}`,
  );
  if (upstreamCalls !== 1 || !same) process.exitCode = 1;
}

/** The local stack's Google STS and Entra, so the peers' warm paths can be measured honestly. */
async function startPeers() {
  const clientSecret = randomBytes(24).toString("base64url");
  const stack = await startLocalStack({
    services: ["azure", "gcp"],
    log: () => {},
    emulator: { writeTokenFile: false },
    azure: { clientSecret, storage: false },
  });
  try {
    const gcp = stack.gcp!;
    const subject = await stack.emulator.mintToken({ audience: "https://sts.googleapis.com" });
    const gal = new IdentityPoolClient({
      audience: gcp.audience,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: gcp.sts.tokenUrl,
      subject_token_supplier: { getSubjectToken: async () => subject },
    });
    await gal.getAccessToken();

    const { entra, tenantId, clientId } = stack.azure!;
    const azure = new ClientSecretCredential(tenantId, clientId, clientSecret, {
      authorityHost: entra.authorityHost,
      disableInstanceDiscovery: true,
    });
    await azure.getToken("https://storage.azure.com/.default");
    return { gal, azure, stop: () => stack.stop() };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

console.log(`confspace bench — Node ${process.version}, ${process.platform}/${process.arch}`);
await cacheHit();
await fanIn();
await benchBroker();
await benchTransit();
await benchFlood();
printImportCosts(benchImports());
