import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import type { BrokerConfig } from "./config-types.js";
import { BrokerConfigError } from "./errors.js";
import { validateBrokerConfig } from "./validate-config.js";

/** Largest configuration file read, bytes. */
const MAX_CONFIG_BYTES = 1_048_576;

/**
 * Reads a broker configuration file and validates it: JSON when the name ends in `.json`,
 * YAML otherwise (YAML 1.2, unique keys, aliases bounded). See {@link BrokerConfig}.
 *
 * @throws {BrokerConfigError} the file cannot be read or parsed (`field` `""`), or a field
 *   is invalid (`field` names it, e.g. `grants[1].azure[0].scopes`).
 *
 * @example
 * ```ts
 * const config = await loadBrokerConfig("/etc/confspace/broker.yaml");
 * const broker = createBroker(config, { logger: jsonLogger() });
 * ```
 */
export async function loadBrokerConfig(path: string): Promise<BrokerConfig> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_CONFIG_BYTES) {
      throw new BrokerConfigError(`the configuration file ${path} is larger than ${MAX_CONFIG_BYTES} bytes`, {
        field: "",
      });
    }
    text = bytes.toString("utf8");
  } catch (error) {
    if (error instanceof BrokerConfigError) throw error;
    throw new BrokerConfigError(`the configuration file ${path} cannot be read`, { field: "", cause: error });
  }
  return parseBrokerConfig(text, { format: extname(path).toLowerCase() === ".json" ? "json" : "yaml", source: path });
}

/** Options of {@link parseBrokerConfig}. */
export interface ParseBrokerConfigOptions {
  /** `"yaml"` (also accepts JSON, a subset of YAML) or `"json"`. Default `"yaml"`. */
  format?: "yaml" | "json";
  /** Name used in messages, e.g. the file path. Default `"the configuration"`. */
  source?: string;
}

/**
 * Parses and validates configuration text (YAML or JSON).
 *
 * @throws {BrokerConfigError} as {@link loadBrokerConfig}.
 */
export function parseBrokerConfig(text: string, options: ParseBrokerConfigOptions = {}): BrokerConfig {
  const source = options.source ?? "the configuration";
  let value: unknown;
  try {
    value =
      options.format === "json"
        ? JSON.parse(text)
        : parseYaml(text, { uniqueKeys: true, maxAliasCount: 100, merge: false });
  } catch (error) {
    // Parser messages quote the offending line, which could hold a secret pasted by mistake:
    // say where, not what.
    const position = (error as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
    const where = position === undefined ? "" : ` at line ${position.line}, column ${position.col}`;
    throw new BrokerConfigError(`${source} is not valid ${options.format === "json" ? "JSON" : "YAML"}${where}`, {
      field: "",
    });
  }
  return validateBrokerConfig(value);
}
