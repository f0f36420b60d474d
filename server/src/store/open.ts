import type { StoreConfig } from "../config/store-url.js";
import { MysqlStore } from "./mysql/store.js";
import { PostgresStore } from "./postgres/store.js";
import { SqliteStore } from "./sqlite/store.js";
import type { Store } from "./port.js";

/** The store a configuration names. */
export function openStore(config: StoreConfig): Store {
  switch (config.kind) {
    case "mysql":
      return MysqlStore.open(config.url);
    case "postgres":
      return PostgresStore.open(config.url);
    case "sqlite":
      return SqliteStore.open(config.path);
  }
}
