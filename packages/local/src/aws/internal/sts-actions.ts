import {
  isoSeconds,
  newAccessKeyId,
  newSecretAccessKey,
  newSessionToken,
  roleUniqueId,
} from "./session-credentials.js";
import { type StsError, stsErrors } from "./sts-errors.js";
import {
  type CommonParams,
  checkTags,
  commonParams,
  type RequestTags,
  requestTags,
  sourceIdentityParam,
} from "./sts-params.js";
import type { TrustPolicy } from "./trust-policy.js";
import { type OidcProvider, verifyWebIdentityToken } from "./web-identity-token.js";
import type { XmlNode } from "./xml.js";

/** A configured role, ready to evaluate. */
export interface Role {
  arn: string;
  accountId: string;
  name: string;
  trust: TrustPolicy;
  maxSessionDurationSeconds: number;
}

/** Who called `AssumeRole`, as its trust policy sees it. */
export interface Caller {
  arn: string;
  /** Every name a trust policy `Principal.AWS` entry may use for this caller. */
  principals: string[];
  accountId: string;
  /** Session tags of a caller that is itself a role session. */
  tags: Record<string, string>;
}

/** Temporary credentials issued by the local STS, and what they stand for. */
export interface IssuedSession {
  action: "AssumeRole" | "AssumeRoleWithWebIdentity";
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  roleArn: string;
  /** `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`. */
  assumedRoleArn: string;
  sessionName: string;
  /** Session tags (key → value). */
  tags: Record<string, string>;
  /** `SourceIdentity` set by the caller (needs `sts:SetSourceIdentity`), if any. */
  sourceIdentity?: string;
  transitiveTagKeys: string[];
  /** The caller's ARN (AssumeRole) or `sub` of the web identity token. */
  source: string;
  issuedAt: number;
  /** ms since the epoch. */
  expiresAt: number;
}

/** What an action needs from the server. */
export interface StsContext {
  roles: ReadonlyMap<string, Role>;
  providers: ReadonlyMap<string, OidcProvider>;
  minDurationSeconds: number;
  now: number;
}

/** A successful action: the session to record and the `…Result` element. */
export interface ActionResult {
  session: IssuedSession;
  result: XmlNode;
}

const key = (k: string) => k.toLowerCase();

/** `AssumeRole` by an authenticated caller. */
export function assumeRole(form: URLSearchParams, caller: Caller, ctx: StsContext): ActionResult | StsError {
  const params = commonParams(form, ctx.minDurationSeconds);
  if ("code" in params) return params;
  const tags = requestTags(form);
  if ("code" in tags) return tags;
  const sourceIdentity = sourceIdentityParam(form);
  if (typeof sourceIdentity === "object") return sourceIdentity;
  const role = ctx.roles.get(params.roleArn);
  const denied = (action: string) => stsErrors.notAuthorized(caller.arn, action, params.roleArn);
  if (role === undefined) return denied("sts:AssumeRole");
  const context = tagContext(params, tags);
  context.set("aws:principalarn", [caller.arn]);
  context.set("aws:principalaccount", [caller.accountId]);
  for (const [k, v] of Object.entries(caller.tags)) context.set(key(`aws:PrincipalTag/${k}`), [v]);
  const externalId = form.get("ExternalId");
  if (externalId !== null) context.set("sts:externalid", [externalId]);
  if (sourceIdentity !== undefined) context.set("sts:sourceidentity", [sourceIdentity]);
  const actions = requiredActions("sts:AssumeRole", tags);
  // Setting a source identity is its own permission in the role's trust policy.
  if (sourceIdentity !== undefined) actions.push("sts:SetSourceIdentity");
  for (const action of actions) {
    if (!role.trust.allows({ action, principalType: "AWS", principals: caller.principals, context }))
      return denied(action);
  }
  const issued = issue("AssumeRole", role, params, tags, caller.arn, ctx);
  if ("code" in issued || sourceIdentity === undefined) return issued;
  issued.session.sourceIdentity = sourceIdentity;
  return {
    session: issued.session,
    result: { ...(issued.result as Record<string, XmlNode>), SourceIdentity: sourceIdentity },
  };
}

/** `AssumeRoleWithWebIdentity` (unsigned: the token is the credential). */
export async function assumeRoleWithWebIdentity(
  form: URLSearchParams,
  ctx: StsContext,
): Promise<ActionResult | StsError> {
  const params = commonParams(form, ctx.minDurationSeconds);
  if ("code" in params) return params;
  const token = form.get("WebIdentityToken");
  if (token === null) return stsErrors.validation("webIdentityToken", null, "Member must not be null");
  if (token.length < 4 || token.length > 20_000) {
    return stsErrors.validation("webIdentityToken", "…", "Member must have length between 4 and 20000");
  }
  const identity = await verifyWebIdentityToken(token, ctx.providers, ctx.now);
  if ("code" in identity) return identity;
  const tags = checkTags({ tags: identity.tags, transitiveTagKeys: identity.transitiveTagKeys });
  if ("code" in tags) return stsErrors.rejectedClaim(`The session tags in the token are not valid: ${tags.message}`);
  const role = ctx.roles.get(params.roleArn);
  if (role === undefined) return stsErrors.webIdentityDenied();
  const context = tagContext(params, tags);
  const name = identity.provider.name;
  context.set(key(`${name}:aud`), identity.audiences);
  context.set(key(`${name}:sub`), [identity.subject]);
  context.set("aws:federatedprovider", [identity.provider.arn]);
  for (const action of requiredActions("sts:AssumeRoleWithWebIdentity", tags)) {
    const request = { action, principalType: "Federated" as const, principals: [identity.provider.arn], context };
    if (!role.trust.allows(request)) return stsErrors.webIdentityDenied();
  }
  const issued = issue("AssumeRoleWithWebIdentity", role, params, tags, identity.subject, ctx);
  if ("code" in issued) return issued;
  const result = issued.result as Record<string, XmlNode>;
  return {
    session: issued.session,
    result: {
      SubjectFromWebIdentityToken: identity.subject,
      Audience: identity.audiences[0],
      ...result,
      Provider: identity.provider.url,
    },
  };
}

/** Session tags need `sts:TagSession` besides the assume action. */
function requiredActions(assume: string, tags: RequestTags): string[] {
  return tags.tags.length > 0 ? [assume, "sts:TagSession"] : [assume];
}

function tagContext(params: CommonParams, tags: RequestTags): Map<string, string[]> {
  const context = new Map<string, string[]>();
  for (const tag of tags.tags) context.set(key(`aws:RequestTag/${tag.key}`), [tag.value]);
  if (tags.tags.length > 0)
    context.set(
      "aws:tagkeys",
      tags.tags.map((t) => t.key),
    );
  if (tags.transitiveTagKeys.length > 0) context.set("sts:transitivetagkeys", tags.transitiveTagKeys);
  context.set("sts:rolesessionname", [params.sessionName]);
  return context;
}

function issue(
  action: IssuedSession["action"],
  role: Role,
  params: CommonParams,
  tags: RequestTags,
  source: string,
  ctx: StsContext,
): ActionResult | StsError {
  const durationSeconds = params.durationSeconds ?? Math.min(3600, role.maxSessionDurationSeconds);
  if (durationSeconds > role.maxSessionDurationSeconds) return stsErrors.durationAboveMax();
  const session: IssuedSession = {
    action,
    accessKeyId: newAccessKeyId("ASIA"),
    secretAccessKey: newSecretAccessKey(),
    sessionToken: newSessionToken(),
    roleArn: role.arn,
    assumedRoleArn: `arn:aws:sts::${role.accountId}:assumed-role/${role.name}/${params.sessionName}`,
    sessionName: params.sessionName,
    tags: Object.fromEntries(tags.tags.map((t) => [t.key, t.value])),
    transitiveTagKeys: tags.transitiveTagKeys,
    source,
    issuedAt: ctx.now,
    expiresAt: ctx.now + durationSeconds * 1000,
  };
  const packed = tags.tags.length > 0 || params.policy !== undefined;
  return {
    session,
    result: {
      AssumedRoleUser: {
        AssumedRoleId: `${roleUniqueId(role.arn)}:${params.sessionName}`,
        Arn: session.assumedRoleArn,
      },
      Credentials: {
        AccessKeyId: session.accessKeyId,
        SecretAccessKey: session.secretAccessKey,
        SessionToken: session.sessionToken,
        Expiration: isoSeconds(session.expiresAt),
      },
      PackedPolicySize: packed
        ? String(Math.min(100, Math.ceil(2 * tags.tags.length + (params.policy?.length ?? 0) / 20)))
        : undefined,
    },
  };
}
