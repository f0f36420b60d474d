/**
 * A vitest reporter (next to the default one, vitest.config.ts) that names every suite skipped for
 * a missing requirement (test/support/requirements.ts), one line each, after the summary:
 *
 *   skipped test/api/two-nodes.test.ts › two server processes on one MariaDB database: needs …
 */
import { relative } from "node:path";
import type { Reporter, TestModule } from "vitest/node";

export default class SkipReporter implements Reporter {
  onTestRunEnd(modules: readonly TestModule[]): void {
    const lines: string[] = [];
    for (const module of modules) {
      for (const suite of module.children.allSuites()) {
        const reason = suite.meta().skippedBecause;
        if (reason === undefined || suite.state() !== "skipped") continue;
        // Suites inside a skipped one inherit its meta data: name the outermost only.
        if (suite.parent.type === "suite" && suite.parent.meta().skippedBecause === reason)
          continue;
        lines.push(
          `skipped ${relative(process.cwd(), module.moduleId)} › ${suite.fullName}: ${reason}`,
        );
      }
    }
    if (lines.length > 0) process.stdout.write(`\n${lines.join("\n")}\n`);
  }
}
