/**
 * Idempotency keys on one Redis server (port-idempotency.ts). A key's record is a hash at
 * `{g}:idem:<length of the principal>:<principal>:<key>` with the SQL stores' columns as fields,
 * in `{g}:idem-expiry` by expiry. Every script a keyed call runs carries the call (db.ts) and
 * writes the record as it commits its change (scripts/lib.ts, `keyed`), so no change commits
 * without its key, on any node; the answer is added afterwards (scripts/idempotency.ts).
 * A store on a Redis Cluster takes no keys (they would have to be on every shard a call changes).
 */
import type { IdempotencyRecord, IdempotencyStore } from "../port-idempotency.js";
import { recordFromRow } from "../sql/idempotency/key-rows.js";
import type { Db } from "./db.js";
import { idempotencyPayload, recordKey } from "./idempotency-record.js";
import { DELETE_EXPIRED_KEYS, RECORD_ANSWER } from "./scripts/idempotency.js";

export function redisIdempotencyStore(db: Db): IdempotencyStore {
  return {
    async getIdempotencyRecord(principal, key, now): Promise<IdempotencyRecord | null> {
      const [h] = await db.hashes([recordKey(db.keys, principal, key)]);
      if (h === null || h === undefined || Number(h.expires_at) <= now) return null;
      return recordFromRow(h);
    },
    async recordAnswer(call, answer, now): Promise<IdempotencyRecord | null> {
      const reply = await db.run(RECORD_ANSWER, idempotencyPayload(db.keys, call, answer, now));
      if (reply === "ok") return null;
      const flat = reply as string[];
      const h: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i] ?? ""] = flat[i + 1] ?? "";
      return recordFromRow(h);
    },
    async deleteExpiredIdempotencyKeys(now, limit): Promise<number> {
      return Number(await db.run(DELETE_EXPIRED_KEYS, { now: String(now), limit: String(limit) }));
    },
  };
}
