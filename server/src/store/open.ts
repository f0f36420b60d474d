import type { StoreConfig } from "../config/store-url.js";
import { MysqlStore } from "./mysql/store.js";
import { SqliteStore } from "./sqlite/store.js";
import type { Store } from "./port.js";

/** The store a configuration names. */
export function openStore(config: StoreConfig): Store {
  return config.kind === "mysql" ? MysqlStore.open(config.url) : SqliteStore.open(config.path);
}
