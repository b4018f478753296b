// provider "aws": STS AssumeRole sessions for a role a grant lists, named after the verified VM.
import { CLAIM_PATH } from "@confspace/policy";
import type { AwsGrant, AwsUpstreamConfig } from "../config-types.js";
import { AwsUpstream } from "../internal/aws-upstream.js";
import {
  child,
  compact,
  fail,
  list,
  object,
  optionalBoolean,
  optionalInteger,
  optionalString,
  record,
  string,
} from "../internal/config-reader.js";
import { ENV_NAME, HTTP_URL } from "../internal/config-rules.js";
import { ReplyError } from "../internal/reply-error.js";
import { sessionName, verifiedSessionBase } from "../internal/session-name.js";
import { checkTagKey, deriveSessionTags, MAX_SESSION_TAGS, SessionTagError } from "../internal/session-tags.js";
import {
  InvalidBrokerRequestError,
  optionalInteger as optionalIntegerField,
  requiredString,
} from "../internal/token-request.js";
import { defineProvider } from "./provider.js";

/** `POST /v1/token` asking for AWS role credentials. */
export interface AwsTokenRequest {
  /** ARN of the role to assume. */
  roleArn: string;
  /**
   * Suffix of the `RoleSessionName`, appended to the verified `{project number}-{instance id}`
   * after a `.`. Default: none (the session is named after the instance alone).
   */
  sessionName?: string;
  /** Requested session length, seconds, 900–43 200; clamped to the grant's maximum. Default: the grant's maximum. */
  durationSeconds?: number;
}

/** An AWS role as one grant gives it. */
export interface GrantedRole {
  roleArn: string;
  /** Longest session, seconds. */
  maxDurationSeconds: number;
  /** Tag key → claim path. */
  sessionTags: Readonly<Record<string, string>> | undefined;
  /** Send the verified session name as `SourceIdentity`. */
  setSourceIdentity: boolean;
}

/** Default longest AWS session a grant gives, seconds. */
export const DEFAULT_MAX_DURATION_SECONDS = 3600;
/** The workload's part of a `RoleSessionName`: `[\w+=,.@-]`, 1 to 64 characters (the total must fit in 64). */
const SESSION_NAME = /^[\w+=,.@-]{1,64}$/;
const ROLE_ARN = {
  pattern: /^arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:role(?:\/[\w+=,.@-]+)+$/,
  patternMessage: "must be an IAM role ARN (arn:aws:iam::123456789012:role/name)",
};
const SECRET_HINTS = {
  accessKeyId: "secrets are never inline: use accessKeyIdEnv",
  secretAccessKey: "secrets are never inline: use secretAccessKeyEnv",
  sessionToken: "secrets are never inline: use sessionTokenEnv",
};

/** AWS roles assumed with STS: `provider: "aws"`, `upstreams.aws`, `grants[].aws`. */
export const awsProvider = defineProvider({
  name: "aws",

  readRequest(fields): AwsTokenRequest {
    const request: AwsTokenRequest = { roleArn: requiredString(fields, "role_arn", 2048) };
    if (fields.session_name !== undefined) {
      const name = requiredString(fields, "session_name", 64);
      if (!SESSION_NAME.test(name)) {
        throw new InvalidBrokerRequestError(
          '"session_name" must be letters, digits and +=,.@_- (at most 64 with the verified name)',
        );
      }
      request.sessionName = name;
    }
    const duration = optionalIntegerField(fields, "duration_seconds", 900, 43_200);
    if (duration !== undefined) request.durationSeconds = duration;
    return request;
  },

  logFields: (request) => ({ roleArn: request.roleArn }),

  upstream: { key: "aws", read: readUpstream },

  grant: {
    key: "aws",
    read(value, path, config) {
      const entries = list(value, path, readGrantEntry);
      if (config.upstreams?.aws === undefined) fail(path, "needs upstreams.aws");
      const roles = new Set<string>();
      entries.forEach((entry, index) => {
        if (roles.has(entry.roleArn)) fail(`${path}[${index}].roleArn`, "is listed twice in this grant");
        roles.add(entry.roleArn);
      });
      return entries;
    },
    /** Role ARN → role, defaults applied. */
    compile(entries: AwsGrant[]): ReadonlyMap<string, GrantedRole> {
      return new Map(
        entries.map((entry) => [
          entry.roleArn,
          {
            roleArn: entry.roleArn,
            maxDurationSeconds: entry.maxDurationSeconds ?? DEFAULT_MAX_DURATION_SECONDS,
            sessionTags: entry.sessionTags,
            setSourceIdentity: entry.setSourceIdentity === true,
          },
        ]),
      );
    },
    select: (roles, request) => roles.get(request.roleArn),
    deniedWhat: "this role",
  },

  start(setup) {
    const config = setup.config.upstreams?.aws;
    if (config === undefined) return undefined;
    const upstream = new AwsUpstream({
      config,
      env: setup.env,
      metrics: setup.metrics,
      timeoutMs: setup.upstreamTimeoutMs,
    });
    return {
      async issue({ request, grant, claims, identity, fields, signal }) {
        const role = grant.value;
        const durationSeconds = Math.min(request.durationSeconds ?? role.maxDurationSeconds, role.maxDurationSeconds);
        const base = verifiedSessionBase(identity);
        const name = sessionName(base, request.sessionName);
        fields.durationSeconds = durationSeconds;
        fields.sessionName = name;
        const tags = deriveSessionTags(role.sessionTags, claims);
        const session = await upstream.assumeRole(
          {
            roleArn: role.roleArn,
            sessionName: name,
            durationSeconds,
            tags,
            ...(role.setSourceIdentity ? { sourceIdentity: base } : {}),
          },
          signal,
        );
        return {
          access_key_id: session.accessKeyId,
          secret_access_key: session.secretAccessKey,
          session_token: session.sessionToken,
          expiration: new Date(session.expiration).toISOString(),
        };
      },
      dispose: () => upstream.dispose(),
    };
  },

  toReply(error, fields) {
    if (!(error instanceof SessionTagError)) return undefined;
    fields.sessionTag = error.tag;
    return new ReplyError("access_denied", `${error.message}; the grant cannot be used by this workload`);
  },
});

function readUpstream(value: unknown, path: string): AwsUpstreamConfig {
  const o = object(value, path, ["region", "endpoint", "caFile", "credentials"], SECRET_HINTS);
  let credentials: AwsUpstreamConfig["credentials"];
  if (o.credentials !== undefined) {
    const c = object(
      o.credentials,
      `${path}.credentials`,
      ["accessKeyIdEnv", "secretAccessKeyEnv", "sessionTokenEnv"],
      SECRET_HINTS,
    );
    credentials = compact({
      accessKeyIdEnv: string(c.accessKeyIdEnv, `${path}.credentials.accessKeyIdEnv`, ENV_NAME),
      secretAccessKeyEnv: string(c.secretAccessKeyEnv, `${path}.credentials.secretAccessKeyEnv`, ENV_NAME),
      sessionTokenEnv: optionalString(c.sessionTokenEnv, `${path}.credentials.sessionTokenEnv`, ENV_NAME),
    });
  }
  return compact({
    region: string(o.region, `${path}.region`, { pattern: /^[a-z0-9-]{1,32}$/, patternMessage: "must be a region" }),
    endpoint: optionalString(o.endpoint, `${path}.endpoint`, HTTP_URL),
    caFile: optionalString(o.caFile, `${path}.caFile`),
    credentials,
  });
}

function readGrantEntry(value: unknown, path: string): AwsGrant {
  const o = object(value, path, ["roleArn", "maxDurationSeconds", "setSourceIdentity", "sessionTags"]);
  let sessionTags: Record<string, string> | undefined;
  if (o.sessionTags !== undefined) {
    const tags = record(o.sessionTags, `${path}.sessionTags`);
    const keys = Object.keys(tags);
    if (keys.length === 0) fail(`${path}.sessionTags`, "must not be empty (omit the field instead)");
    if (keys.length > MAX_SESSION_TAGS) fail(`${path}.sessionTags`, `must have at most ${MAX_SESSION_TAGS} tags`);
    const lower = new Set<string>();
    const entries: Array<[string, string]> = [];
    for (const key of keys) {
      const tagPath = child(`${path}.sessionTags`, key);
      const problem = checkTagKey(key);
      if (problem !== undefined) fail(tagPath, problem);
      // AWS compares tag keys case-insensitively: two keys differing in case collide.
      if (lower.has(key.toLowerCase())) fail(tagPath, "differs from another tag key only in case");
      lower.add(key.toLowerCase());
      const claimPath = string(tags[key], tagPath, {
        pattern: CLAIM_PATH,
        patternMessage: "must be a dotted claim path such as submods.container.image_digest",
        maxLength: 256,
      });
      entries.push([key, claimPath]);
    }
    sessionTags = Object.fromEntries(entries);
  }
  return compact({
    roleArn: string(o.roleArn, `${path}.roleArn`, ROLE_ARN),
    maxDurationSeconds: optionalInteger(o.maxDurationSeconds, `${path}.maxDurationSeconds`, 900, 43_200),
    setSourceIdentity: optionalBoolean(o.setSourceIdentity, `${path}.setSourceIdentity`),
    sessionTags,
  });
}
