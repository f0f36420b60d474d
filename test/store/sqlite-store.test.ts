import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../../server/src/store/sqlite/store.js";
import { storeContract } from "./contract/index.js";

storeContract({
  name: "SQLite",
  drains: true,
  create: () => {
    const dir = mkdtempSync(join(tmpdir(), "metronome-sqlite-"));
    return Promise.resolve({
      open: () => SqliteStore.open(join(dir, "nested", "metronome.db")),
      drop: () => {
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    });
  },
});
