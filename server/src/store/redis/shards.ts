/**
 * How a Redis Cluster store (cluster.ts) splits its schedulers over shards. A store has a fixed
 * number of shards, recorded when it is first migrated; each shard's keys carry one hash tag
 * (keys.ts), chosen so that the n shards' slots lie in n equal parts of the cluster's 16,384
 * slots, so whatever ranges the masters serve, the shards spread over them evenly. A scheduler
 * lives on the shard its name hashes to (FNV-1a, 32 bits). Both are part of the data's layout:
 * they must never change for a store that exists.
 */
import calculateSlot from "cluster-key-slot";

/** The slots of a Redis Cluster. */
const SLOTS = 16_384;

/** The hash tags of a store of `n` shards: shard k's slot lies in [k, k+1) × 16384 / n. */
export function shardTags(n: number): string[] {
  return Array.from({ length: n }, (_, k) => {
    const low = Math.floor((k * SLOTS) / n);
    const high = Math.floor(((k + 1) * SLOTS) / n);
    for (let j = 0; ; j++) {
      const tag = `s${String(k)}.${String(j)}`;
      const slot = calculateSlot(tag);
      if (slot >= low && slot < high) return tag;
    }
  });
}

/** The shard (0 … n-1) of scheduler `name`. */
export function shardOf(name: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % n;
}
