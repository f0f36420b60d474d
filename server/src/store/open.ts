import type { StoreConfig } from "../config/store-url.js";
import { MysqlStore } from "./mysql/store.js";
import { PostgresStore } from "./postgres/store.js";
import { SqliteStore } from "./sqlite/store.js";
import type { Store } from "./port.js";

/**
 * The store a configuration names. A node serving it says `serving`: the SQLite store then
 * refuses a second node on its file (a tool such as `metronome migrate` does not say it).
 */
export function openStore(config: StoreConfig, options: { serving?: boolean } = {}): Store {
  switch (config.kind) {
    case "mysql":
      return MysqlStore.open(config.url);
    case "postgres":
      return PostgresStore.open(config.url);
    case "sqlite":
      return SqliteStore.open(config.path, options);
  }
}
