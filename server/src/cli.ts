#!/usr/bin/env node
/**
 * The `metronome` command. Subcommands: `conformance FILE` (evaluate a trigger conformance file).
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { describeFailure, evaluateCase, parseConformanceFile } from "./conformance/conformance.js";

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
  .showHelpAfterError();

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
