import { KeyManagementServiceClient } from "@google-cloud/kms";
import { OAuth2Client } from "google-auth-library";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalGoogle, startLocalGoogle } from "../test/local-google.js";
import { createFederatedAuthClient } from "./federated-auth-client.js";

// Attestation tokens live 4 s (the launcher rewrites the file at 70–90 % of that) and
// federated tokens 1 s, so google-auth-library (which refreshes 5 minutes ahead) exchanges
// on every call and each exchange must carry whatever the file holds now.
const ATTESTATION_LIFETIME_S = 4;
let world: LocalGoogle;

beforeAll(async () => {
  world = await startLocalGoogle({
    emulator: { tokenLifetimeSeconds: ATTESTATION_LIFETIME_S },
    stsTokenLifetimeSeconds: 1,
  });
});

afterAll(async () => {
  await world?.stop();
});

function client() {
  return createFederatedAuthClient({
    audience: world.one.audience,
    tokenUrl: world.sts.tokenUrl,
    tokenFile: world.emulator.tokenFile,
    launcher: { socketPath: world.emulator.socketPath },
    expirySkewMs: 1500, // margin for a loaded CI machine between reading the token and STS checking it
  });
}

describe("attestation token rotation", () => {
  it("exchanges the newly written token after the launcher rotates the file", async () => {
    const federated = client();
    const before = world.sts.requests.length;
    await federated.getAccessToken();
    await world.emulator.refreshTokenFile();
    await federated.getAccessToken();
    const [first, second] = world.sts.requests.slice(before);
    expect(first).toMatchObject({ status: 200, subjectTokenId: expect.any(String) });
    expect(second).toMatchObject({ status: 200, subjectTokenId: expect.any(String) });
    expect(second!.subjectTokenId).not.toBe(first!.subjectTokenId);
  });

  it("keeps decrypting across several real rotations, never exchanging an expired token", async () => {
    const owner = new OAuth2Client();
    owner.setCredentials({ access_token: world.one.userToken });
    const [{ ciphertext }] = await new KeyManagementServiceClient({
      ...world.kms.clientOptions,
      authClient: owner,
    }).encrypt({
      name: world.one.keyName,
      plaintext: Buffer.from("rotating"),
    });
    const kms = new KeyManagementServiceClient({ ...world.kms.clientOptions, authClient: client() });
    const before = world.sts.requests.length;
    for (let round = 0; round < 9; round++) {
      const [result] = await kms.decrypt({ name: world.one.keyName, ciphertext });
      expect(Buffer.from(result.plaintext as Uint8Array).toString()).toBe("rotating");
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
    const calls = world.sts.requests.slice(before);
    expect(calls.length).toBeGreaterThanOrEqual(9);
    expect(calls.every((call) => call.status === 200)).toBe(true);
    // ~6.3 s of 4-second tokens rewritten at 2.8–3.6 s: at least two different tokens were used.
    expect(new Set(calls.map((call) => call.subjectTokenId)).size).toBeGreaterThanOrEqual(2);
    // Each exchanged token still had time left when STS saw it.
    for (const call of calls) expect(call.at / 1000).toBeLessThan(call.subjectIssuedAt! + ATTESTATION_LIFETIME_S);
  }, 20_000);
});
