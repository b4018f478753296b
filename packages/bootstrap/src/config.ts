// The bootstrap configuration (bootstrap.yaml): strictly validated, unknown keys refused.

import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { type CertificateSectionConfig, parseCertificateSection } from "./certificate-config.js";
import { BootstrapConfigError } from "./errors.js";
import { child, fail, integer, isPlainObject, object, optionalString, string, url } from "./internal/config-reader.js";
import { PLANNED_SCHEMES, REFERENCE_SCHEMES } from "./references/registry.js";

/** Where a resolved secret goes. */
export type SecretTarget = { kind: "env"; name: string } | { kind: "file"; name: string };

/** One entry of `secrets:`, validated. `reference` is the scheme's own parsed form. */
export interface SecretSpec {
  name: string;
  /** The `from:` scheme. */
  scheme: string;
  reference: unknown;
  target: SecretTarget;
}

/** `azure:` — serve the App Service managed-identity protocol on loopback, backed by the broker. */
export interface AzureEndpointConfig {
  /** The token broker, `https://broker.example:8443`. */
  brokerUrl: string;
  /** The broker's attestation audience. */
  audience: string;
  /** CA file (PEM) for the broker's certificate. Default: Node's CAs. */
  caFile?: string;
}

/** `aws:` — write an AWS config file whose `credential_process` is `confspace-bootstrap aws-credential-process`. */
export interface AwsProcessConfig {
  /** The role (`arn:aws:iam::ACCOUNT:role/NAME`). */
  roleArn: string;
  /** The token broker (default path): URL and audience, CA file. Default: env `CONFSPACE_BROKER_URL` / `CONFSPACE_BROKER_AUDIENCE`. */
  brokerUrl?: string;
  audience?: string;
  caFile?: string;
  /** Use AssumeRoleWithWebIdentity with a token for this audience instead of the broker. */
  webIdentityAudience?: string;
  region?: string;
  stsEndpoint?: string;
  durationSeconds?: number;
}

/** `google:` — write an external-account credential configuration with the executable source. */
export interface GoogleExecutableConfig {
  /** The workload identity provider, `//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X`. */
  audience: string;
  serviceAccount?: string;
  /** Custom attestation-token audience, for providers that do not accept `https://sts.googleapis.com`. */
  tokenAudience?: string;
  tokenUrl?: string;
  iamCredentialsEndpoint?: string;
}

/** A validated bootstrap configuration. */
export interface BootstrapConfig {
  /** Parent of the private directory created for file secrets. Default `/dev/shm`. */
  secretsDir: string;
  secrets: SecretSpec[];
  /** Each scheme's parsed top-level section, by scheme name. */
  sections: ReadonlyMap<string, unknown>;
  azure?: AzureEndpointConfig;
  aws?: AwsProcessConfig;
  google?: GoogleExecutableConfig;
  /** The workload certificate files, written before the app starts and renewed while it runs. */
  certificate?: CertificateSectionConfig;
}

/** Default parent of the secrets directory: a tmpfs on Linux, so secrets never reach a disk. */
export const DEFAULT_SECRETS_DIR = "/dev/shm";

/** Variables confspace-bootstrap sets for the app itself; a secret may not take these names. */
export const RESERVED_ENV = [
  "CONFSPACE_SECRETS_DIR",
  "IDENTITY_ENDPOINT",
  "IDENTITY_HEADER",
  "AWS_CONFIG_FILE",
  "GOOGLE_APPLICATION_CREDENTIALS",
  "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES",
] as const;

const PROVIDER =
  /^\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/[^/]+\/providers\/[^/]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FILE_NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,255}$/;
const SECRET_NAME = /^[A-Za-z0-9._-]{1,128}$/;
const BASE_KEYS = ["name", "from", "env", "file"];

/**
 * Validates a parsed configuration object. Every error is a {@link BootstrapConfigError}
 * naming the path of the bad field.
 */
export function parseBootstrapConfig(value: unknown): BootstrapConfig {
  const sectionKeys = new Map<string, string>();
  for (const scheme of REFERENCE_SCHEMES.values()) if (scheme.section) sectionKeys.set(scheme.section.key, scheme.name);
  const top = object(value, "", [
    "secretsDir",
    "secrets",
    "azure",
    "aws",
    "google",
    "certificate",
    ...sectionKeys.keys(),
  ]);
  const sections = new Map<string, unknown>();
  for (const [key, schemeName] of sectionKeys) {
    if (top[key] !== undefined) {
      sections.set(schemeName, REFERENCE_SCHEMES.get(schemeName)?.section?.parse(top[key], key));
    }
  }
  const secretsDir =
    optionalString(top.secretsDir, "secretsDir", /^\//, "must be an absolute path") ?? DEFAULT_SECRETS_DIR;
  if (top.secrets !== undefined && !Array.isArray(top.secrets)) fail("secrets", "must be a list");
  const secrets: SecretSpec[] = [];
  const names = new Set<string>();
  const envs = new Set<string>();
  const files = new Set<string>();
  for (const [index, raw] of ((top.secrets as unknown[] | undefined) ?? []).entries()) {
    const path = child("secrets", index);
    if (!isPlainObject(raw)) fail(path, "must be an object");
    const from = string(raw.from, child(path, "from"));
    const scheme = REFERENCE_SCHEMES.get(from);
    if (scheme === undefined) {
      const planned = PLANNED_SCHEMES[from];
      fail(
        child(path, "from"),
        planned
          ? `"${from}" is not available: ${planned}`
          : `unknown scheme "${from}"; available: ${[...REFERENCE_SCHEMES.keys()].join(", ")}`,
      );
    }
    const entry = object(raw, path, [...BASE_KEYS, ...scheme.fields]);
    const name = string(entry.name, child(path, "name"), SECRET_NAME, "must be 1–128 of letters, digits and ._-");
    if (names.has(name)) fail(child(path, "name"), `"${name}" is used by another secret`);
    names.add(name);
    if ((entry.env === undefined) === (entry.file === undefined)) fail(path, "needs exactly one of env and file");
    let target: SecretTarget;
    if (entry.env !== undefined) {
      const env = string(entry.env, child(path, "env"), ENV_NAME, "must be an environment variable name");
      if ((RESERVED_ENV as readonly string[]).includes(env))
        fail(child(path, "env"), `${env} is set by confspace-bootstrap`);
      if (envs.has(env)) fail(child(path, "env"), `${env} is the target of another secret`);
      envs.add(env);
      target = { kind: "env", name: env };
    } else {
      const file = string(
        entry.file,
        child(path, "file"),
        FILE_NAME,
        "must be a plain file name (no directories), created in the secrets directory",
      );
      if (files.has(file)) fail(child(path, "file"), `${file} is the target of another secret`);
      files.add(file);
      target = { kind: "file", name: file };
    }
    const reference = scheme.parseReference(entry, path, sections.get(scheme.name));
    secrets.push({ name, scheme: scheme.name, reference, target });
  }
  const config: BootstrapConfig = { secretsDir, secrets, sections };
  if (top.azure !== undefined) {
    const a = object(top.azure, "azure", ["brokerUrl", "audience", "caFile"]);
    config.azure = {
      brokerUrl: url(a.brokerUrl, "azure.brokerUrl"),
      audience: string(a.audience, "azure.audience"),
      ...(a.caFile !== undefined && { caFile: string(a.caFile, "azure.caFile") }),
    };
  }
  if (top.aws !== undefined) config.aws = parseAws(top.aws);
  if (top.google !== undefined) config.google = parseGoogle(top.google);
  if (top.certificate !== undefined) config.certificate = parseCertificateSection(top.certificate);
  return config;
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
/** Values that end up on a command line another tool splits on spaces. */
const NO_SPACE = /^\S+$/;

function parseAws(value: unknown): AwsProcessConfig {
  const o = object(value, "aws", [
    "roleArn",
    "brokerUrl",
    "audience",
    "caFile",
    "webIdentityAudience",
    "region",
    "stsEndpoint",
    "durationSeconds",
  ]);
  const aws: AwsProcessConfig = {
    roleArn: string(o.roleArn, "aws.roleArn", ROLE_ARN, "must be arn:aws:iam::ACCOUNT:role/NAME"),
  };
  if (o.brokerUrl !== undefined) aws.brokerUrl = url(o.brokerUrl, "aws.brokerUrl");
  if (o.stsEndpoint !== undefined) aws.stsEndpoint = url(o.stsEndpoint, "aws.stsEndpoint");
  for (const key of ["audience", "caFile", "webIdentityAudience", "region"] as const) {
    const v = optionalString(o[key], `aws.${key}`, NO_SPACE, "must not contain spaces");
    if (v !== undefined) aws[key] = v;
  }
  if (o.durationSeconds !== undefined)
    aws.durationSeconds = integer(o.durationSeconds, "aws.durationSeconds", 1, 43_200);
  const broker = aws.brokerUrl !== undefined || aws.audience !== undefined || aws.caFile !== undefined;
  if (aws.webIdentityAudience !== undefined && broker)
    fail("aws", "webIdentityAudience and brokerUrl/audience/caFile are two different paths: choose one");
  if (aws.webIdentityAudience === undefined && (aws.region !== undefined || aws.stsEndpoint !== undefined)) {
    fail("aws", "region and stsEndpoint belong to webIdentityAudience");
  }
  return aws;
}

function parseGoogle(value: unknown): GoogleExecutableConfig {
  const o = object(value, "google", [
    "audience",
    "serviceAccount",
    "tokenAudience",
    "tokenUrl",
    "iamCredentialsEndpoint",
  ]);
  const google: GoogleExecutableConfig = {
    audience: string(
      o.audience,
      "google.audience",
      PROVIDER,
      "must be //iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER",
    ),
  };
  const sa = optionalString(
    o.serviceAccount,
    "google.serviceAccount",
    /^[^@\s]+@[^@\s]+$/,
    "must be a service account email",
  );
  if (sa !== undefined) google.serviceAccount = sa;
  const tokenAudience = optionalString(o.tokenAudience, "google.tokenAudience", NO_SPACE, "must not contain spaces");
  if (tokenAudience !== undefined) google.tokenAudience = tokenAudience;
  if (o.tokenUrl !== undefined) google.tokenUrl = url(o.tokenUrl, "google.tokenUrl");
  if (o.iamCredentialsEndpoint !== undefined)
    google.iamCredentialsEndpoint = url(o.iamCredentialsEndpoint, "google.iamCredentialsEndpoint");
  return google;
}

/** Reads and validates a YAML (or JSON) configuration file. */
export async function loadBootstrapConfig(path: string): Promise<BootstrapConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new BootstrapConfigError(
      "--config",
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
      {
        cause: error,
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text, { uniqueKeys: true, maxAliasCount: 0 });
  } catch (error) {
    // The YAML library's message quotes the offending line, which could hold a value: keep only the position.
    const position = (error as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
    throw new BootstrapConfigError(
      "",
      `${path} is not valid YAML${position ? ` (line ${position.line}, column ${position.col})` : ""}`,
    );
  }
  return parseBootstrapConfig(parsed);
}
