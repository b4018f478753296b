/** Test-only helpers for table-driven token mutations. Never imported by shipped code. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import { AttestationPolicyError, type PolicyCheck } from "../../src/verify/errors.js";

export type Json = Record<string, unknown>;
export type Mutation = (target: Json) => void;

/** Sets the value at a dotted path (`submods.gce.project_id`), creating nothing. */
export const set =
  (path: string, value: unknown): Mutation =>
  (target) => {
    const keys = path.split(".");
    const last = keys.pop()!;
    let node = target;
    for (const key of keys) node = node[key] as Json;
    node[last] = value;
  };

/** Deletes the value at a dotted path. */
export const del =
  (path: string): Mutation =>
  (target) => {
    const keys = path.split(".");
    const last = keys.pop()!;
    let node = target;
    for (const key of keys) node = node[key] as Json;
    delete node[last];
  };

/** Replaces the value at a dotted path by `edit(current)`. */
export const edit =
  (path: string, change: (current: never) => unknown): Mutation =>
  (target) => {
    let node: unknown = target;
    for (const key of path.split(".")) node = (node as Json)[key];
    set(path, change(node as never))(target);
  };

export const parts = (token: string) => token.split(".") as [string, string, string];
export const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
export const decode = (part: string): Json => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));

/** Asserts that `verification` fails with an {@link AttestationPolicyError} for `check` (and `claim` and a `message` matching, when given). */
export async function expectRejected(
  verification: Promise<unknown>,
  check: PolicyCheck,
  claim?: string,
  message?: RegExp,
): Promise<void> {
  const error = await verification.then(
    () => expect.unreachable(`expected check "${check}" to fail`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AttestationPolicyError);
  expect(error).toMatchObject({ code: "ERR_ATTESTATION_POLICY", check });
  if (claim !== undefined) expect((error as AttestationPolicyError).claim).toBe(claim);
  if (message !== undefined) expect((error as AttestationPolicyError).message).toMatch(message);
}

/** A local server that counts requests: a `jku`/`x5u` URL that must never be fetched. */
export async function startTrap() {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests += 1;
    res.writeHead(200, { "content-type": "application/json" }).end('{"keys":[]}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
