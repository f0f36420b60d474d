/**
 * What Redis keeps depends on its settings (docs/storage.md, "Durability on Redis"): without the
 * append-only file a crash loses every change since the last RDB snapshot, acknowledged job
 * changes included; under an eviction policy Redis deletes keys when it reaches `maxmemory`, and
 * a record or an index deleted alone leaves the store's records and indexes apart. The store
 * says so once at start-up.
 */
import type { Cluster, Redis } from "ioredis";

/** A setting's value (`CONFIG GET`), or null when CONFIG is disabled or answers nothing. */
async function setting(redis: Redis | Cluster, name: string): Promise<string | null> {
  let reply: unknown;
  try {
    reply = await redis.config("GET", name);
  } catch {
    return null;
  }
  const flat = Array.isArray(reply) ? (reply as unknown[]) : [];
  const value = flat[1];
  return typeof value === "string" ? value : null;
}

/**
 * The warnings for this server's settings (none when AOF is on and nothing is evicted). CONFIG
 * may be disabled (managed services rename or forbid it): then nothing can be told, and nothing
 * is said.
 */
export async function persistenceWarnings(redis: Redis | Cluster): Promise<string[]> {
  const warnings: string[] = [];
  const appendonly = await setting(redis, "appendonly");
  if (appendonly !== null && appendonly !== "yes")
    warnings.push(
      "Redis runs without the append-only file (appendonly no): a crash of Redis loses the " +
        "changes since its last RDB snapshot, acknowledged job changes and runs included; set " +
        "`appendonly yes` (and `appendfsync everysec` or `always`, docs/storage.md)",
    );
  const policy = await setting(redis, "maxmemory-policy");
  if (policy !== null && policy !== "noeviction")
    warnings.push(
      `Redis evicts keys when it is full (maxmemory-policy ${policy}): the store loses jobs, ` +
        "runs and events without a trace, and what is left of them no longer agrees; set " +
        "`maxmemory-policy noeviction` (writes are then refused when Redis is full, as " +
        "UNAVAILABLE, docs/storage.md)",
    );
  return warnings;
}
