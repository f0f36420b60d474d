/** Files a configuration key names, read at start-up: a failure is a ConfigError naming the key. */
import { readFileSync } from "node:fs";
import { ConfigError } from "./load.js";

/** The contents of `file`, which the key `key` names. Throws ConfigError. */
export function readConfigFile(key: string, file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError([
      {
        key,
        message: `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`,
        source: null,
      },
    ]);
  }
}
