import { BlobServiceClient } from "@azure/storage-blob";
import { BrokerError } from "@confspace/ekm-tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AzureStack, startAzureStack } from "../test/stack.js";

const text = (body: NodeJS.ReadableStream | undefined) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    body?.on("data", (chunk: Buffer) => chunks.push(chunk));
    body?.on("end", () => resolve(Buffer.concat(chunks).toString()));
    body?.on("error", reject);
  });

describe("@azure/storage-blob against Azurite through the broker credential", () => {
  let stack: AzureStack;

  beforeAll(async () => {
    stack = await startAzureStack({ azurite: true });
  });
  afterAll(() => stack?.stop());

  const accountUrl = () => stack.azurite?.accountUrl ?? "";

  it("creates a container, uploads, lists and downloads a blob", async () => {
    const before = stack.brokerRequests("ok");
    const service = new BlobServiceClient(accountUrl(), stack.credential());
    const container = service.getContainerClient("reports");
    await container.create();
    const blob = container.getBlockBlobClient("2026/q1.txt");
    await blob.upload("hello from the TEE", Buffer.byteLength("hello from the TEE"));
    const names: string[] = [];
    for await (const item of container.listBlobsFlat()) names.push(item.name);
    expect(names).toEqual(["2026/q1.txt"]);
    expect(await text((await blob.download()).readableStreamBody)).toBe("hello from the TEE");
    const containers: string[] = [];
    for await (const item of service.listContainers()) containers.push(item.name);
    expect(containers).toContain("reports");
    // Six storage calls, one token: Azure's per-client cache and ours agree.
    expect(stack.brokerRequests("ok")).toBe(before + 1);
  });

  it("several SDK clients sharing one credential, called concurrently, cause one broker call", async () => {
    const before = stack.brokerRequests();
    const credential = stack.credential();
    const clients = Array.from({ length: 5 }, () => new BlobServiceClient(accountUrl(), credential));
    await clients[0]?.getContainerClient("shared").createIfNotExists();
    await Promise.all(
      clients.flatMap((client, i) =>
        Array.from({ length: 4 }, (_, j) =>
          client.getContainerClient("shared").getBlockBlobClient(`c${i}-b${j}`).upload("x", 1),
        ),
      ),
    );
    let count = 0;
    for await (const _ of clients[4]!.getContainerClient("shared").listBlobsFlat()) count += 1;
    expect(count).toBe(20);
    expect(stack.brokerRequests()).toBe(before + 1);
  });

  it("an unapproved image gets the broker's denial, naming the check, from the SDK call", async () => {
    const service = new BlobServiceClient(accountUrl(), stack.credential({ tokenSource: stack.unapprovedImage() }));
    const error = await service
      .getContainerClient("denied")
      .create()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ code: "ERR_BROKER_DENIED", check: "image_digest", status: 401 });
    expect(stack.brokerRequests("invalid_token")).toBeGreaterThanOrEqual(1);
  });

  it("the broker being down surfaces as ERR_BROKER_UNAVAILABLE from the SDK call", async () => {
    const service = new BlobServiceClient(accountUrl(), stack.credential({ brokerUrl: "https://127.0.0.1:1" }));
    const error = await service
      .getContainerClient("down")
      .create()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ code: "ERR_BROKER_UNAVAILABLE" });
  });

  it("Azure's bearer policy refuses a plain-http account URL before asking the credential", async () => {
    const before = stack.brokerRequests();
    const service = new BlobServiceClient(accountUrl().replace("https:", "http:"), stack.credential());
    await expect(service.getContainerClient("plain").create()).rejects.toThrow(/non-TLS|https/i);
    expect(stack.brokerRequests()).toBe(before);
  });
});
