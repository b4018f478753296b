import { createHash, randomBytes, randomInt } from "node:crypto";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** `PREFIX` + 16 random characters of AWS's key alphabet (`ASIA…` temporary keys, `AKIA…` long-term). */
export function newAccessKeyId(prefix: "ASIA" | "AKIA"): string {
  let id = prefix;
  for (let i = 0; i < 16; i += 1) id += BASE32[randomInt(32)];
  return id;
}

/** 40 characters, as AWS secret access keys are. */
export function newSecretAccessKey(): string {
  return randomBytes(30).toString("base64").replace(/\+/g, "x").replace(/\//g, "y");
}

/** An opaque session token (real ones are a few hundred base64 characters). */
export function newSessionToken(): string {
  return `IQoJconfspace${randomBytes(240).toString("base64")}`;
}

/** A role's stable unique id, `AROA` + 17 characters derived from its ARN. */
export function roleUniqueId(roleArn: string): string {
  const digest = createHash("sha256").update(roleArn).digest();
  let id = "AROA";
  for (let i = 0; i < 17; i += 1) id += BASE32[digest[i]! % 32];
  return id;
}

/** `2024-05-01T12:00:00Z`: the form STS writes `Expiration` in. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
