#!/usr/bin/env node
/**
 * The `metronome` command: `serve` (run a node), `migrate` (apply database migrations),
 * `reseal` (seal jobs under the newest encryption key), `conformance FILE` (evaluate a trigger
 * conformance file), `--version`, and the operator commands (cli/: jobs, runs, events,
 * schedulers, workers, nodes, health). Usage errors exit with 2 (docs/cli.md lists every exit
 * code).
 */
import { readFileSync } from "node:fs";
import type { CommanderError } from "commander";
import { Command } from "commander";
import { addOperatorCommands, EXIT } from "./cli/index.js";
import { configFrom, withConfigFlags } from "./cli/config-flags.js";
import { ConfigError, type Config } from "./config/load.js";
import { describeFailure, evaluateCase, parseConformanceFile } from "./conformance/conformance.js";
import { migrateOnly, resealOnly, serve } from "./main.js";
import { storeFailure } from "./cli/store-failure.js";
import { StoreUnavailableError } from "./store/errors.js";
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
  .showHelpAfterError()
  // Usage errors exit with 2 (not commander's 1), so scripts can tell them from failures.
  .exitOverride((err: CommanderError) => {
    // `--help` and `--version` are done; help printed because a subcommand is missing
    // (`metronome jobs`) is commander's "commander.help" with exit code 1: a usage error.
    const done =
      err.code === "commander.helpDisplayed" ||
      err.code === "commander.version" ||
      (err.code === "commander.help" && err.exitCode === 0);
    process.exit(done ? EXIT.ok : EXIT.usage);
  });

/** Runs `action` with the configuration of the flags and the environment; a failure is a line. */
async function run(
  options: Record<string, string | undefined>,
  action: (config: Config) => Promise<void>,
): Promise<void> {
  let config: Config | undefined;
  try {
    config = configFrom(options);
    await action(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`metronome: invalid configuration\n${err.message}`);
    } else if (err instanceof StoreUnavailableError && config !== undefined) {
      // Why, and which store: the URL without its password.
      console.error(`metronome: ${storeFailure(err, config.store)}`);
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
).action((options: Record<string, string | undefined>) => run(options, serve));

withConfigFlags(
  program
    .command("migrate")
    .description("apply pending database migrations to the configured store and exit"),
).action((options: Record<string, string | undefined>) => run(options, migrateOnly));

withConfigFlags(
  program
    .command("reseal")
    .description(
      "seal every job's args and kwargs under the first key of METRONOME_ENCRYPTION_KEYS (after a rotation) and exit",
    ),
).action((options: Record<string, string | undefined>) =>
  run(options, async (config) => {
    await resealOnly(config);
  }),
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

addOperatorCommands(program);

await program.parseAsync();
