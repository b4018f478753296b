import { readFile } from "node:fs/promises";
import { BrokerConfigError } from "../errors.js";

/**
 * Reads configured files together (at `listen()`), in the order given. When several
 * cannot be read, the error names the first of them every time, not whichever read
 * failed first.
 *
 * @throws {BrokerConfigError} `the file cannot be read`, `field` naming the option.
 */
export async function readConfiguredFiles<const T extends readonly { path: string; field: string }[]>(
  files: T,
): Promise<{ -readonly [K in keyof T]: Buffer }> {
  const reads = await Promise.allSettled(files.map(({ path }) => readFile(path)));
  const contents = reads.map((read, index) => {
    if (read.status === "fulfilled") return read.value;
    throw new BrokerConfigError("the file cannot be read", { field: files[index]!.field, cause: read.reason });
  });
  return contents as { -readonly [K in keyof T]: Buffer };
}
