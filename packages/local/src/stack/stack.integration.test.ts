import { Sha256 } from "@aws-crypto/sha256-js";
import { InvalidOptionError } from "@confspace/core";
import { SignatureV4 } from "@smithy/signature-v4";
import { describe, expect, it } from "vitest";
import { startLocalStack } from "./stack.js";

describe("startLocalStack", () => {
  it("refuses an unknown option or service before starting anything", async () => {
    await expect(startLocalStack({ services: ["aws"], brokers: 2 } as never)).rejects.toMatchObject({
      option: "brokers",
    });
    await expect(startLocalStack({ services: ["azure", "s3"] as never })).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it("with broker: false starts aws without a broker, with the given broker key and extra roles", async () => {
    const stack = await startLocalStack({
      services: ["aws"],
      log: () => {},
      broker: false,
      aws: {
        brokerCredentials: { accessKeyId: "AKIALOCALTESTKEY0001", secretAccessKey: "local-test-secret" },
        roles: ({ account, brokerUserArn }) => [
          {
            arn: `arn:aws:iam::${account}:role/extra`,
            trustPolicy: {
              Version: "2012-10-17",
              Statement: { Effect: "Allow", Principal: { AWS: brokerUserArn }, Action: "sts:AssumeRole" },
            },
          },
        ],
      },
    });
    try {
      expect(stack.broker).toBeUndefined();
      expect(stack.env.CONFSPACE_BROKER_URL).toBeUndefined();
      // AssumeRole signed (SigV4) with the given broker key, for the extra role.
      const url = new URL(stack.aws!.sts.endpoint);
      const body = new URLSearchParams({
        Action: "AssumeRole",
        Version: "2011-06-15",
        RoleArn: "arn:aws:iam::123456789012:role/extra",
        RoleSessionName: "stack-test",
      }).toString();
      const signer = new SignatureV4({
        service: "sts",
        region: stack.aws!.region,
        sha256: Sha256,
        credentials: { accessKeyId: "AKIALOCALTESTKEY0001", secretAccessKey: "local-test-secret" },
      });
      const signed = await signer.sign({
        method: "POST",
        protocol: url.protocol,
        hostname: url.hostname,
        port: Number(url.port),
        path: "/",
        query: {},
        headers: { host: url.host, "content-type": "application/x-www-form-urlencoded" },
        body,
      });
      const reply = await fetch(new URL("/", url), { method: "POST", headers: signed.headers, body });
      expect(reply.status).toBe(200);
      expect(await reply.text()).toContain("<AssumeRoleResult>");
    } finally {
      await stack.stop();
    }
  });

  it("starts gcp without a broker, and its env names the emulator, the CA and the Google endpoints but no token", async () => {
    const lines: string[] = [];
    const stack = await startLocalStack({ services: ["gcp"], log: (l) => lines.push(l) });
    try {
      expect(stack.broker).toBeUndefined();
      expect(stack.aws).toBeUndefined();
      expect(stack.env).toMatchObject({
        CONFSPACE_LAUNCHER_SOCKET: stack.emulator.socketPath,
        NODE_EXTRA_CA_CERTS: stack.caPath,
        CONFSPACE_GCP_AUDIENCE: stack.gcp?.audience,
        CONFSPACE_LOCAL_KMS_ENDPOINT: stack.gcp?.kms.endpoint,
      });
      const text = `${JSON.stringify(stack.env)}\n${lines.join("\n")}`;
      expect(text).not.toContain(stack.gcp?.developerToken);
      // The default provider exchanges the emulator's token (as the launcher writes it) for a federated token.
      const subject = await stack.emulator.mintToken({ audience: "https://sts.googleapis.com" });
      const reply = await fetch(stack.gcp!.sts.tokenUrl, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
          audience: stack.gcp!.audience,
          scope: "https://www.googleapis.com/auth/cloud-platform",
          requested_token_type: "urn:ietf:params:oauth:token-type:access_token",
          subject_token: subject,
          subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
        }),
      });
      expect(reply.status, await reply.clone().text()).toBe(200);
      expect(stack.gcp!.sts.issued.size).toBe(1);
      const federated = ((await reply.json()) as { access_token: string }).access_token;
      // The default key: the developer encrypts, the emulator's image (federated) decrypts, the developer cannot.
      const kms = async (method: "encrypt" | "decrypt", token: string, body: Record<string, string>) => {
        const response = await fetch(`${stack.gcp!.kms.endpoint}/v1/${stack.gcp!.keyName}:${method}`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        });
        return { status: response.status, body: (await response.json()) as Record<string, string> };
      };
      const sealed = await kms("encrypt", stack.gcp!.developerToken, {
        plaintext: Buffer.from("hi").toString("base64"),
      });
      expect(sealed.status).toBe(200);
      const opened = await kms("decrypt", federated, { ciphertext: sealed.body.ciphertext! });
      expect(opened.status).toBe(200);
      expect(Buffer.from(opened.body.plaintext!, "base64").toString()).toBe("hi");
      expect((await kms("decrypt", stack.gcp!.developerToken, { ciphertext: sealed.body.ciphertext! })).status).toBe(
        403,
      );
    } finally {
      await stack.stop();
      await stack.stop(); // idempotent
    }
  });
});
