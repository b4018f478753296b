import { InvalidOptionError } from "./errors.js";

/** Environment variables as the SDK reads them: `process.env` by default, or a record passed instead (tests, hosts). */
export type EnvSource = Readonly<Record<string, string | undefined>>;

/** A setting {@link optionOrEnv} found, and where: `"option"` or the environment variable's name. */
export interface FoundSetting {
  value: string;
  from: string;
}

/** Options of {@link requireOptionOrEnv}. */
export interface RequireOptionOrEnvOptions {
  /** Where the variables are read. Default `process.env`. */
  env?: EnvSource;
  /** The message's beginning, e.g. `"fromBroker needs the broker's URL"`; `: set the … option or …` follows. */
  missing: string;
  /** The error to throw (a package's subclass of {@link InvalidOptionError}). Default `InvalidOptionError`. */
  error?: new (
    option: string,
    message: string,
    envVars: readonly string[],
  ) => InvalidOptionError;
}

/**
 * The SDK's one rule for settings that an environment variable can supply: the option
 * when it was given (a non-empty string), else the first of `envVars` that is set and
 * non-empty, else `undefined`. An empty string counts as unset in both places, so
 * `FOO=` in a container spec does not silently configure an empty value.
 */
export function optionOrEnv(
  option: string | undefined,
  envVars: string | readonly string[],
  env: EnvSource = process.env,
): FoundSetting | undefined {
  if (option !== undefined && option !== "") return { value: option, from: "option" };
  for (const name of typeof envVars === "string" ? [envVars] : envVars) {
    const value = env[name];
    if (value !== undefined && value !== "") return { value, from: name };
  }
  return undefined;
}

/**
 * {@link optionOrEnv}, or an error naming both places to set it:
 * `{missing}: set the {name} option or {ENV_VAR}.` The error carries `option: name` and
 * `envVars`.
 *
 * @throws {InvalidOptionError} (or `options.error`) neither the option nor a variable is set.
 */
export function requireOptionOrEnv(
  name: string,
  option: string | undefined,
  envVars: string | readonly string[],
  options: RequireOptionOrEnvOptions,
): FoundSetting {
  const found = optionOrEnv(option, envVars, options.env);
  if (found !== undefined) return found;
  const vars = typeof envVars === "string" ? [envVars] : [...envVars];
  const ErrorClass = options.error ?? InvalidOptionError;
  throw new ErrorClass(name, `${options.missing}: set the ${name} option or ${vars.join(" or ")}.`, vars);
}
