#!/usr/bin/env node
/**
 * The `metronome` command: `serve` (run a node), `migrate` (apply database migrations),
 * `conformance FILE` (evaluate a trigger conformance file) and `--version`.
 */
import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { CONFIG_KEYS, ConfigError, loadConfigFromProcess, type ConfigKey } from "./config.js";
import { describeFailure, evaluateCase, parseConformanceFile } from "./conformance/conformance.js";
import { migrateOnly, serve } from "./main.js";
import { VERSION } from "./version.js";

export function runConformance(file: string, out: (line: string) => void): boolean {
  const { cases } = parseConformanceFile(readFileSync(file, "utf8"));
  let passed = 0;
  let failed = 0;
  for (const c of cases) {
    const result = evaluateCase(c);
    if (result.passed) {
      passed++;
    } else {
      failed++;
      out(describeFailure(result));
    }
  }
  out(`${passed} passed, ${failed} failed`);
  return failed === 0;
}

const program = new Command()
  .name("metronome")
  .description("Metronome: a distributed job scheduler")
  .version(VERSION, "-v, --version", "print the version and exit")
  .showHelpAfterError();

/** Command-line flags and the configuration keys they set (flags win over the environment). */
const FLAGS: readonly (readonly [flag: string, key: ConfigKey])[] = [
  ["--host <host>", "METRONOME_HOST"],
  ["--port <port>", "METRONOME_PORT"],
  ["--store <url>", "SCHEDULER__JOBSTORE_URL"],
  ["--timezone <zone>", "SCHEDULER__TIMEZONE"],
  ["--scheduler-enabled <bool>", "SCHEDULER__ENABLED"],
  ["--log-level <level>", "METRONOME_LOG_LEVEL"],
  ["--tls-cert <file>", "METRONOME_TLS_CERT"],
  ["--tls-key <file>", "METRONOME_TLS_KEY"],
  ["--migrate-on-start <bool>", "METRONOME_MIGRATE_ON_START"],
  ["--node-id <id>", "METRONOME_NODE_ID"],
  ["--event-retention <seconds>", "METRONOME_EVENT_RETENTION"],
];

function withConfigFlags(cmd: Command): Command {
  for (const [flag, key] of FLAGS) {
    const doc = CONFIG_KEYS.find((k) => k.key === key);
    cmd.addOption(new Option(flag, `${doc?.description ?? key} (${key})`));
  }
  return cmd;
}

function configFrom(options: Record<string, string | undefined>) {
  const flags: Partial<Record<ConfigKey, string>> = {};
  for (const [flag, key] of FLAGS) {
    const name = (flag.split(" ")[0] ?? "")
      .replace(/^--/, "")
      .replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
    const value = options[name];
    if (value !== undefined) flags[key] = value;
  }
  return loadConfigFromProcess(flags);
}

async function run(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`metronome: invalid configuration\n${err.message}`);
    } else {
      console.error(`metronome: ${err instanceof Error ? err.message : String(err)}`);
    }
    process.exitCode = 1;
  }
}

withConfigFlags(
  program
    .command("serve")
    .description(
      "run a Metronome node (API server; embedded SQLite store unless SCHEDULER__JOBSTORE_URL is set)",
    ),
).action((options: Record<string, string | undefined>) => run(() => serve(configFrom(options))));

withConfigFlags(
  program
    .command("migrate")
    .description("apply pending database migrations to the configured store and exit"),
).action((options: Record<string, string | undefined>) =>
  run(() => migrateOnly(configFrom(options))),
);

program
  .command("conformance")
  .description("evaluate a trigger conformance file and print `N passed, N failed`")
  .argument("<file>", "a JSON file in the conformance format")
  .action((file: string) => {
    const ok = runConformance(file, (line) => {
      console.log(line);
    });
    process.exitCode = ok ? 0 : 1;
  });

await program.parseAsync();
