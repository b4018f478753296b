import { InvalidOptionError } from "@confspace/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalS3 } from "./aws/s3.js";
import { startLocalAwsSts } from "./aws/sts.js";
import { startLocalIamCredentials } from "./google/iam-credentials.js";
import { startLocalKms } from "./google/kms.js";
import { startLocalGoogleSts } from "./google/sts.js";
import type { LocalServer } from "./internal/local-server.js";
import { startLocalEntra } from "./microsoft/entra.js";
import { createTestPki, type TestPki, trustCaInProcess } from "./tls.js";

// The one handle, checked the same way on every in-process double (Azurite and OpenBao
// run as child processes and have their own tests of it).

let pki: TestPki;
let untrust: () => void;
beforeAll(async () => {
  pki = await createTestPki();
  untrust = trustCaInProcess(pki.caPem);
});
afterAll(async () => {
  untrust?.();
  await pki?.cleanup();
});

const PROVIDER =
  "//iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/pool-one/providers/provider-one";
const form = (fields: Record<string, string>) => ({ method: "POST", body: new URLSearchParams(fields) });

interface Row {
  start(): Promise<LocalServer>;
  /** One ordinary request to the server's main endpoint. */
  call(server: LocalServer): Promise<Response>;
}

const rows: Record<string, Row> = {
  "local Entra": {
    start: () =>
      startLocalEntra({ tenantId: "t", clients: [], tls: { cert: pki.serverCertPem, key: pki.serverKeyPem } }),
    call: (s) =>
      fetch(`${(s as unknown as { authorityHost: string }).authorityHost}/t/oauth2/v2.0/token`, form({ a: "b" })),
  },
  "local Google STS": {
    start: () => startLocalGoogleSts({ providers: [{ audience: PROVIDER, issuer: "https://issuer.example" }] }),
    call: (s) => fetch((s as unknown as { tokenUrl: string }).tokenUrl, form({ grant_type: "x" })),
  },
  "local IAM Credentials": {
    start: () => startLocalIamCredentials({ serviceAccounts: [], tokenIssuers: [] }),
    call: (s) =>
      fetch(
        (s as unknown as { generateAccessTokenUrl(e: string): string }).generateAccessTokenUrl(
          "a@p.iam.gserviceaccount.com",
        ),
        {
          method: "POST",
          body: "{}",
        },
      ),
  },
  "local KMS": {
    start: () => startLocalKms({ keys: [], tokenIssuers: [] }),
    call: (s) =>
      fetch(
        `${(s as unknown as { endpoint: string }).endpoint}/v1/projects/p/locations/global/keyRings/r/cryptoKeys/k:encrypt`,
        {
          method: "POST",
          body: "{}",
        },
      ),
  },
  "local AWS STS": {
    start: () => startLocalAwsSts({ roles: [] }),
    call: (s) =>
      fetch(
        (s as unknown as { endpoint: string }).endpoint,
        form({ Action: "GetCallerIdentity", Version: "2011-06-15" }),
      ),
  },
  "local S3": {
    start: () => startLocalS3({ buckets: ["bucket"] }),
    call: (s) => fetch(`${(s as unknown as { endpoint: string }).endpoint}/bucket/key`),
  },
};

describe.each(Object.entries(rows))("the shared handle of the %s", (_name, row) => {
  let server: LocalServer;
  beforeAll(async () => {
    server = await row.start();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("answers an injected fault with its status and headers, records it, then handles requests again", async () => {
    server.failNext({ status: 503, headers: { "retry-after": "7" } });
    const faulted = await row.call(server);
    expect(faulted.status).toBe(503);
    expect(faulted.headers.get("retry-after")).toBe("7");
    expect(server.requests.at(-1)).toMatchObject({ status: 503, fault: true, error: expect.any(String) });
    const normal = await row.call(server);
    expect(normal.status).not.toBe(503);
    expect(server.requests.at(-1)).toMatchObject({ status: normal.status, fault: false });
  });

  it("sends a string body verbatim", async () => {
    server.failNext({ status: 502, body: "upstream connect error" });
    const res = await row.call(server);
    expect([res.status, await res.text()]).toEqual([502, "upstream connect error"]);
  });

  it("records every request in one shape", async () => {
    await row.call(server);
    const record = server.requests.at(-1)!;
    expect(Object.keys(record)).toEqual(
      expect.arrayContaining(["method", "path", "headers", "at", "status", "error", "fault"]),
    );
    expect(record.at).toBeGreaterThan(Date.now() - 60_000);
  });

  it("refuses an unknown fault option with an InvalidOptionError naming it", () => {
    expect(() => server.failNext({ status: 503, retries: 2 } as never)).toThrow(InvalidOptionError);
    expect(() => server.failNext({ status: 503, retries: 2 } as never)).toThrow(/retries/);
  });

  it("closes through close() and await using alike, idempotently, and then stops answering", async () => {
    let closed: LocalServer | undefined;
    {
      await using second = await row.start();
      expect((await row.call(second)).status).toBeGreaterThanOrEqual(400);
      await second.close();
      closed = second;
    }
    await expect(row.call(closed)).rejects.toThrow();
  });
});
