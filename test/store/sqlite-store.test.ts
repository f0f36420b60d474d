import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../../server/src/store/sqlite/store.js";
import { storeSuite } from "./store-suite.js";

storeSuite("SQLite", () => {
  const dir = mkdtempSync(join(tmpdir(), "metronome-sqlite-"));
  return Promise.resolve({
    store: SqliteStore.open(join(dir, "nested", "metronome.db")),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});
