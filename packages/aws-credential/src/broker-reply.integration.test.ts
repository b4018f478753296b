import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { createTestPki, type TestPki } from "@confspace/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromBroker } from "./broker.js";
import { AwsCredentialResponseError } from "./errors.js";

// A TLS 1.3 server that answers POST /v1/token with whatever the test sets: for replies the
// real broker never sends. The attestation token is a stub; nothing verifies it here.
let pki: TestPki;
let server: Server;
let url: string;
let reply: unknown;
const requests: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  pki = await createTestPki();
  server = createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem, minVersion: "TLSv1.3" }, (req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      requests.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await pki.cleanup();
});

const good = {
  access_key_id: "ASIAEXAMPLE000000001",
  secret_access_key: "SECRET-VALUE-do-not-log",
  session_token: "TOKEN-VALUE-do-not-log",
  expiration: new Date(Date.now() + 3600_000).toISOString(),
};

function provider() {
  return fromBroker({
    brokerUrl: url,
    audience: "https://broker.test",
    roleArn: "arn:aws:iam::123456789012:role/reader",
    sessionName: "reply-test",
    durationSeconds: 1200,
    ca: pki.caPem,
    tokenSource: { getToken: async () => "eyJhbGciOiJSUzI1NiJ9.e30.c2ln" },
  });
}

describe("fromBroker reply handling", () => {
  it("sends the AWS request fields and maps a complete reply", async () => {
    reply = good;
    const p = provider();
    const identity = await p();
    p.dispose();
    expect(identity).toMatchObject({
      accessKeyId: good.access_key_id,
      secretAccessKey: good.secret_access_key,
      sessionToken: good.session_token,
    });
    expect(identity.expiration?.toISOString()).toBe(good.expiration);
    expect(requests.at(-1)).toEqual({
      attestation_token: "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
      provider: "aws",
      role_arn: "arn:aws:iam::123456789012:role/reader",
      session_name: "reply-test",
      duration_seconds: 1200,
    });
  });

  it.each<[string, Record<string, unknown>]>([
    ["no access_key_id", { ...good, access_key_id: undefined }],
    ["an empty secret_access_key", { ...good, secret_access_key: "" }],
    ["a numeric session_token", { ...good, session_token: 42 }],
    ["no expiration", { ...good, expiration: undefined }],
    ["an expiration that is not a date", { ...good, expiration: "tomorrow" }],
    ["an expiration in the past", { ...good, expiration: new Date(Date.now() - 1000).toISOString() }],
  ])("refuses a reply with %s as ERR_AWS_CREDENTIAL_RESPONSE, without echoing values", async (_name, body) => {
    reply = body;
    const p = provider();
    const error = await p().catch((e: unknown) => e);
    p.dispose();
    expect(error).toBeInstanceOf(AwsCredentialResponseError);
    expect(error).toMatchObject({ code: "ERR_AWS_CREDENTIAL_RESPONSE", source: "broker" });
    expect((error as Error).message).not.toMatch(/do-not-log|ASIAEXAMPLE|tomorrow/);
  });
});
