import type { StringRules } from "./config-reader.js";

/** An environment variable name (`…Env` fields). */
export const ENV_NAME: StringRules = {
  pattern: /^[A-Za-z_][A-Za-z0-9_]*$/,
  patternMessage: "must be an environment variable name",
  maxLength: 256,
};
export const HTTPS_URL: StringRules = {
  pattern: /^https:\/\/[^\s/?#]+(?:\/[^\s?#]*)?$/,
  patternMessage: "must be an https URL",
};
export const HTTP_URL: StringRules = {
  pattern: /^https?:\/\/[^\s/?#]+(?:\/[^\s?#]*)?$/,
  patternMessage: "must be an http(s) URL",
};
/** A name a configuration gives (grant, tenant): 1–64 of `[A-Za-z0-9_.-]`. */
export const NAME: StringRules = {
  pattern: /^[A-Za-z0-9_.-]{1,64}$/,
  patternMessage: "must be 1–64 letters, digits, '_', '.', '-'",
};
/** Why a tempting inline-secret key is refused. */
export const SECRET_HINTS = {
  clientSecret: "secrets are never inline: name the environment variable holding it with clientSecretEnv",
};
