/**
 * Before any test file: the dashboard's build (server/dist/ui) is made when missing or stale, once
 * for the whole run, so that the Chromium test and every `npm start` a test runs find it ready
 * (and a clean clone needs no `npm run build` before `npm test`). Quick when it is fresh.
 *
 * And a folder for the run's logs (support/suite-logs.ts): after the last file, every node's log
 * and every spawned process's output is scanned for secrets, and a secret found fails the run.
 * `TEST_KEEP_LOGS=1` keeps the folder afterwards (it is removed when the scan is clean).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildDashboard } from "../../server/ui/build.js";
import { scanSuiteLogs } from "./suite-logs.js";

export default async function setup(): Promise<() => void> {
  await buildDashboard();
  const dir = mkdtempSync(join(tmpdir(), "metronome-suite-logs-"));
  process.env.TEST_LOG_DIR = dir;
  return () => {
    const { files, findings } = scanSuiteLogs(dir);
    if (findings.length > 0) {
      const lines = findings.slice(0, 20).map((f) => `  ${f.file}:${String(f.line)}: ${f.kind}`);
      // An error thrown here is printed but does not fail the run: the exit code says it.
      console.error(
        `FAIL: secrets in the logs of this run (${String(findings.length)} lines of ${String(files)} logs, kept in ${dir}):\n${lines.join("\n")}`,
      );
      process.exitCode = 1;
      return;
    }
    if (process.env.TEST_KEEP_LOGS === "1")
      console.log(`the run's logs: ${dir} (${String(files)} files)`);
    else rmSync(dir, { recursive: true, force: true });
  };
}
