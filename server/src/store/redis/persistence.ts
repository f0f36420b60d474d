/**
 * What Redis keeps on a crash depends on its persistence settings (docs/storage.md, "Durability
 * on Redis"): without the append-only file a crash loses every change since the last RDB
 * snapshot, acknowledged job changes included. The store says so once at start-up.
 */
import type { Cluster, Redis } from "ioredis";

/**
 * The warning for this server's settings, or null when AOF is on. CONFIG may be disabled
 * (managed services rename or forbid it): then nothing can be told, and nothing is said.
 */
export async function persistenceWarning(redis: Redis | Cluster): Promise<string | null> {
  let reply: unknown;
  try {
    reply = await redis.config("GET", "appendonly");
  } catch {
    return null;
  }
  const flat = Array.isArray(reply) ? (reply as unknown[]) : [];
  const value = flat[1];
  if (typeof value !== "string" || value === "yes") return null;
  return (
    "Redis runs without the append-only file (appendonly no): a crash of Redis loses the changes " +
    "since its last RDB snapshot, acknowledged job changes and runs included; set " +
    "`appendonly yes` (and `appendfsync everysec` or `always`, docs/storage.md)"
  );
}
