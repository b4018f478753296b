import { readFile } from "node:fs/promises";
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { ConfspaceError } from "@confspace/core";
import { parse as parseYaml } from "yaml";
import { explainPolicy } from "../explain/explain-policy.js";
import type { ExplainFormat, Explanation } from "../explain/explanation.js";
import { renderAws } from "../render/aws.js";
import { renderBroker } from "../render/broker.js";
import { renderGcp } from "../render/gcp.js";
import type { RenderClause } from "../render/internal/effective.js";
import { renderVault } from "../render/vault.js";
import type { WorkloadPolicy } from "../workload-policy.js";

export const USAGE = `Usage:
  confspace-policy render --target gcp|vault|aws|broker --policy FILE [target options] [--allow-unenforced C,C] [--json]
    gcp:    --pool-project-number N --pool ID --provider ID [--issuer URL] [--binding-resource "kms keys K --keyring=R --location=L" --binding-role ROLE]
    vault:  --token-policy NAME (repeatable) [--issuer URL] [--jwks-url URL]
    aws:    --account ID [--issuer URL]
    broker: --grant-name NAME
  confspace-policy explain --token FILE --against FILE [--format policy|gcp|vault-role|vault-config|aws|broker] [--json]
    FILE of --against: a WIF condition (CEL text or gcloud's JSON), a Vault role or auth config (JSON),
    an AWS trust policy (JSON), a broker.yaml, or a WorkloadPolicy (JSON or YAML).
    Exit status: 0 admitted, 1 refused, 2 usage or input error. The token is never printed.
`;

const FORMATS: readonly ExplainFormat[] = ["policy", "gcp", "vault-role", "vault-config", "aws", "broker"];

/** Where the CLI writes. */
export interface CliIo {
  stdout(text: string): unknown;
  stderr(text: string): unknown;
}

class UsageError extends Error {}

/** Runs one command; returns the exit status. Never writes the token or a claim outside explain's shown values. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
      io.stdout(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (command === "render") return await render(rest, io);
    if (command === "explain") return await explain(rest, io);
    throw new UsageError(`unknown command "${command}"`);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`confspace-policy: ${error.message}\n${USAGE}`);
      return 2;
    }
    if (error instanceof ConfspaceError || (error as { code?: string }).code === "ENOENT") {
      io.stderr(`confspace-policy: ${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
}

function args(argv: readonly string[], options: ParseArgsOptionsConfig) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | string[] | boolean | undefined
    >;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

async function readDocument(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return parseYaml(text) as unknown;
  }
}

async function render(argv: readonly string[], io: CliIo): Promise<number> {
  const values = args(argv, {
    target: { type: "string" },
    policy: { type: "string" },
    issuer: { type: "string" },
    "pool-project-number": { type: "string" },
    pool: { type: "string" },
    provider: { type: "string" },
    "binding-resource": { type: "string" },
    "binding-role": { type: "string" },
    "token-policy": { type: "string", multiple: true },
    "jwks-url": { type: "string" },
    account: { type: "string" },
    "grant-name": { type: "string" },
    "allow-unenforced": { type: "string" },
    json: { type: "boolean" },
  });
  const target = required(values, "target");
  const policy = (await readDocument(required(values, "policy"))) as WorkloadPolicy;
  const allowUnenforced =
    typeof values["allow-unenforced"] === "string"
      ? (values["allow-unenforced"].split(",").map((c) => c.trim()) as RenderClause[])
      : [];
  const issuer = typeof values.issuer === "string" ? { issuer: values.issuer } : {};
  const json = values.json === true;
  const out = (value: unknown) => io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  switch (target) {
    case "gcp": {
      const resource = values["binding-resource"];
      const role = values["binding-role"];
      const result = renderGcp(policy, {
        poolProjectNumber: required(values, "pool-project-number"),
        poolId: required(values, "pool"),
        providerId: required(values, "provider"),
        ...issuer,
        allowUnenforced,
        ...(typeof resource === "string" && typeof role === "string" && { binding: { resource, role } }),
      });
      if (json) out(result);
      else io.stdout(`${result.commands.join("\n\n")}\n`);
      return 0;
    }
    case "vault": {
      const tokenPolicies = (values["token-policy"] as string[] | undefined) ?? [];
      if (tokenPolicies.length === 0) throw new UsageError("--token-policy is required");
      const jwksUrl = values["jwks-url"];
      const result = renderVault(policy, {
        tokenPolicies,
        ...issuer,
        ...(typeof jwksUrl === "string" && { jwksUrl }),
        allowUnenforced,
      });
      out(json ? result : { authConfig: result.authConfig, role: result.role });
      if (!json) warnUnenforced(result.unenforced, io);
      return 0;
    }
    case "aws": {
      const result = renderAws(policy, { accountId: required(values, "account"), ...issuer, allowUnenforced });
      out(json ? result : result.trustPolicy);
      if (!json) warnUnenforced(result.unenforced, io);
      return 0;
    }
    case "broker": {
      const result = renderBroker(policy, { grantName: required(values, "grant-name"), allowUnenforced });
      if (json) out(result);
      else io.stdout(`${result.grantYaml}\n`);
      return 0;
    }
    default:
      throw new UsageError(`--target must be gcp, vault, aws or broker (got "${target}")`);
  }
}

function warnUnenforced(list: readonly { clause: string; reason: string }[], io: CliIo): void {
  for (const u of list) io.stderr(`confspace-policy: not enforced by this target: ${u.clause} (${u.reason})\n`);
}

async function explain(argv: readonly string[], io: CliIo): Promise<number> {
  const values = args(argv, {
    token: { type: "string" },
    against: { type: "string" },
    format: { type: "string" },
    json: { type: "boolean" },
  });
  const format = values.format;
  if (format !== undefined && !FORMATS.includes(format as ExplainFormat)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
  }
  const token = (await readFile(required(values, "token"), "utf8")).trim();
  const against = await readFile(required(values, "against"), "utf8");
  const result = explainPolicy(token, against, format === undefined ? {} : { format: format as ExplainFormat });
  if (values.json === true) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else io.stdout(describe(result));
  return result.admitted ? 0 : 1;
}

/** The explanation for people: the verdict, the failed clause first, then every clause. */
export function describe(result: Explanation): string {
  const lines = [`${result.admitted ? "admitted" : "refused"} by this ${result.format} configuration`];
  if (result.failed) {
    lines.push(`failed: ${result.failed.clause}`);
    if (result.failed.claim !== undefined) {
      lines.push(
        `  claim ${result.failed.claim} = ${result.failed.value === undefined ? "(absent or not shown)" : JSON.stringify(result.failed.value)}`,
      );
    }
    lines.push(`  ${result.failed.message}`);
  }
  for (const warning of result.warnings) lines.push(`warning: ${warning}`);
  lines.push("clauses:");
  for (const clause of result.clauses)
    lines.push(`  ${clause.ok ? "ok  " : "FAIL"} ${clause.clause}: ${clause.message}`);
  return `${lines.join("\n")}\n`;
}
