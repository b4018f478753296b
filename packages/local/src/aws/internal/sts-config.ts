import { InvalidOptionError } from "@confspace/core";
import { issuerKeys } from "../../internal/oidc-keys.js";
import type { LocalAwsRole, LocalAwsUser, LocalOidcProvider } from "../sts.js";
import type { Role } from "./sts-actions.js";
import type { User } from "./sts-auth.js";
import { MAX_DURATION_SECONDS } from "./sts-params.js";
import { loadTrustPolicy } from "./trust-policy.js";
import type { OidcProvider } from "./web-identity-token.js";

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const USER_ARN = /^arn:aws:iam::(\d{12}):user\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/** Checks a role of the options and loads its trust policy. @throws {TypeError} */
export function loadRole(config: LocalAwsRole, minDurationSeconds: number): Role {
  const m = ROLE_ARN.exec(config.arn);
  if (m === null)
    throw new InvalidOptionError(
      "roles[].arn",
      `startLocalAwsSts: role ARN "${config.arn}" is not arn:aws:iam::ACCOUNT:role/NAME`,
    );
  const max = config.maxSessionDurationSeconds ?? 3600;
  if (!Number.isInteger(max) || max < minDurationSeconds || max > MAX_DURATION_SECONDS) {
    throw new InvalidOptionError(
      "roles[].maxSessionDurationSeconds",
      `startLocalAwsSts: maxSessionDurationSeconds of ${config.arn} must be ${minDurationSeconds}–43200`,
    );
  }
  return {
    arn: config.arn,
    accountId: m[1]!,
    name: m[2]!,
    trust: loadTrustPolicy(config.trustPolicy, `startLocalAwsSts: trust policy of ${config.arn}`),
    maxSessionDurationSeconds: max,
  };
}

/** Checks an OIDC provider of the options and prepares its key resolution. @throws {TypeError} */
export function loadProvider(config: LocalOidcProvider): OidcProvider {
  const url = URL.canParse(config.url) ? new URL(config.url) : undefined;
  const loopback = url !== undefined && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url === undefined || !(url.protocol === "https:" || (url.protocol === "http:" && loopback))) {
    throw new InvalidOptionError(
      "oidcProviders[].url",
      `startLocalAwsSts: OIDC provider URL "${config.url}" must be https (or http on loopback)`,
    );
  }
  if (config.clientIds.length < 1 || config.clientIds.length > 100) {
    throw new InvalidOptionError(
      "oidcProviders[].clientIds",
      `startLocalAwsSts: OIDC provider ${config.url} needs 1–100 clientIds`,
    );
  }
  const name = config.url.replace(/^https?:\/\//, "");
  return {
    url: config.url,
    name,
    arn: `arn:aws:iam::${config.accountId ?? "123456789012"}:oidc-provider/${name}`,
    clientIds: new Set(config.clientIds),
    keys: issuerKeys(config.url, config.jwksUri),
  };
}

/** Checks a user of the options. @throws {TypeError} */
export function loadUser(config: LocalAwsUser): User {
  if (!USER_ARN.test(config.arn))
    throw new InvalidOptionError(
      "users[].arn",
      `startLocalAwsSts: user ARN "${config.arn}" is not arn:aws:iam::ACCOUNT:user/NAME`,
    );
  return { ...config, accountId: config.arn.split(":")[4]! };
}
