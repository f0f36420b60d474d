/**
 * The store a test file runs its server on. Suites about the API, the SDK, the examples or a
 * client run on the embedded SQLite store, on every machine; suites whose outcome depends on the
 * store's SQL run once per store (`describeEachStore` in mysql.ts), the MySQL half only where
 * MySQL answers. docs/development.md ("Tests") lists which suite runs where. Importing this file
 * needs no MySQL.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A test file's own store: the URL to start a node on, and how to remove it. */
export interface TestStore {
  readonly url: string;
  drop(): Promise<void>;
}

/** A fresh embedded SQLite store in a temporary folder; `drop()` removes the folder. */
export function createSqliteStore(prefix = "metronome-test"): Promise<TestStore> {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  return Promise.resolve({
    url: `sqlite:///${join(dir, "metronome.db")}`,
    drop: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
}
