import type { StoreConfig } from "../config/store-url.js";
import { MysqlStore } from "./mysql/store.js";
import { PostgresStore } from "./postgres/store.js";
import { RedisClusterStore } from "./redis/cluster.js";
import { RedisStore } from "./redis/store.js";
import { SqliteStore } from "./sqlite/store.js";
import type { Store } from "./port.js";

export interface OpenOptions {
  /**
   * A node serving the store says so: the SQLite store then refuses a second node on its file
   * (a tool such as `metronome migrate` does not say it).
   */
  readonly serving?: boolean;
  /** Where a store tells what the operator should know at start-up (Redis without AOF). */
  readonly warn?: (message: string) => void;
}

/** The store a configuration names. */
export function openStore(config: StoreConfig, options: OpenOptions = {}): Store {
  switch (config.kind) {
    case "mysql":
      return MysqlStore.open(config.url);
    case "postgres":
      return PostgresStore.open(config.url);
    case "sqlite":
      return SqliteStore.open(config.path, options);
    case "redis":
      return RedisStore.open(config.url, options);
    case "redis-cluster":
      return RedisClusterStore.open(config.connection, options);
  }
}
