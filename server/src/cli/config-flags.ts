/**
 * The flags of `metronome serve` (and `migrate`, `reseal`) that set configuration keys — the keys
 * with a flag in the table of keys (config/keys.ts) — and the configuration they give with `.env`
 * and the environment (flags win over both).
 */
import { Command, Option } from "commander";
import { CONFIG_KEYS, type ConfigKey } from "../config/keys.js";
import { loadConfigFromProcess, type Config } from "../config/load.js";

/** Command-line flags and the configuration keys they set. */
const FLAGS: readonly (readonly [option: Option, key: ConfigKey])[] = CONFIG_KEYS.flatMap(
  ({ key, flag, description, default: value }) =>
    flag === undefined
      ? []
      : [
          [
            new Option(flag, `${description} (${key}${value ? `; default ${value}` : ""})`),
            key,
          ] as const,
        ],
);

/** Adds the configuration flags to a command. */
export function withConfigFlags(cmd: Command): Command {
  for (const [option] of FLAGS) cmd.addOption(option);
  return cmd;
}

/**
 * The configuration of `.env` in `cwd`, the environment and the flags a command parsed. Throws
 * ConfigError; an invalid value from a flag is reported naming the flag.
 */
export function configFrom(
  options: Readonly<Record<string, unknown>>,
  cwd: string = process.cwd(),
): Config {
  const flags: Partial<Record<ConfigKey, string>> = {};
  for (const [option, key] of FLAGS) {
    const value = options[option.attributeName()];
    if (typeof value === "string") flags[key] = value;
  }
  return loadConfigFromProcess(flags, cwd);
}

/**
 * The configuration flags among the arguments of a `serve` command line (the arguments after
 * `serve`); other arguments are ignored. Throws CommanderError when a flag lacks its value.
 */
export function configFlagsOf(args: readonly string[]): Record<string, unknown> {
  const cmd = withConfigFlags(new Command())
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  cmd.parse([...args], { from: "user" });
  return cmd.opts();
}
