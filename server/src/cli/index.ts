/**
 * The operator commands of `metronome` (docs/cli.md): jobs, runs, events, schedulers, workers,
 * nodes, health and keys, each a client of the server through `@metronome/sdk`. Human tables by
 * default, `--json` for scripts, and the exit codes of exit.ts.
 */
import type { Command } from "commander";
import { clusterCommands } from "./cluster.js";
import { eventsCommand } from "./events.js";
import { describeError, exitCodeOf } from "./exit.js";
import { jobsCommand } from "./jobs.js";
import { keysCommand } from "./keys.js";
import { stdout, type Out } from "./output.js";
import { runsCommand } from "./runs.js";
import { schedulersCommand } from "./schedulers.js";

export { EXIT } from "./exit.js";

export function addOperatorCommands(program: Command, out: Out = stdout): void {
  const run = async (action: () => Promise<void>): Promise<void> => {
    try {
      await action();
    } catch (err) {
      process.stderr.write(`metronome: ${describeError(err)}\n`);
      process.exitCode = exitCodeOf(err);
    }
  };
  jobsCommand(program, out, run);
  runsCommand(program, out, run);
  eventsCommand(program, out, run);
  schedulersCommand(program, out, run);
  clusterCommands(program, out, run);
  keysCommand(program, out, run);
}
