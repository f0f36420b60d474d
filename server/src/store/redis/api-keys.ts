/**
 * API keys on Redis (store/port-keys.ts): a hash each (`{g}:api-key:<id>`, the SQL stores'
 * columns as fields), their ids in a sorted set by creation time (`{g}:api-key-ids`).
 */
import type { EventDraft } from "../../domain/events.js";
import type { ApiKeyRecord } from "../../domain/keys.js";
import { apiKeyFields, apiKeyFromFields, revOf } from "./codec.js";
import { type Db, eventArgs } from "./db.js";
import { CONFLICT, optimistic } from "./optimistic.js";
import { INSERT_KEY } from "./scripts/insert-key.js";
import { REVOKE_KEY } from "./scripts/revoke-key.js";

function keyKey(db: Db, id: string): string {
  return db.keys.global(`api-key:${id}`);
}

export async function insertKey(
  db: Db,
  key: ApiKeyRecord,
  events: readonly EventDraft[],
): Promise<boolean> {
  return (await db.run(INSERT_KEY, { fields: apiKeyFields(key), events: eventArgs(events) })) === 1;
}

export async function getKey(db: Db, id: string): Promise<ApiKeyRecord | null> {
  const [h] = await db.hashes([keyKey(db, id)]);
  return h === null || h === undefined ? null : apiKeyFromFields(h);
}

/** Newest first; keys made in the same millisecond by id, descending (as the SQL stores). */
export async function listKeys(db: Db): Promise<ApiKeyRecord[]> {
  const ids = await db.call(() => db.redis.zrevrange(db.keys.global("api-key-ids"), 0, -1));
  const found = await db.hashes(ids.map((id) => keyKey(db, id)));
  return found.flatMap((h) => (h === null ? [] : [apiKeyFromFields(h)]));
}

export function revokeKey(
  db: Db,
  id: string,
  at: number,
  by: string,
  events: ((revoked: ApiKeyRecord) => readonly EventDraft[]) | undefined,
): Promise<{ key: ApiKeyRecord; revoked: boolean } | null> {
  const k = keyKey(db, id);
  return optimistic("revokeKey", async () => {
    const [h] = await db.hashes([k]);
    if (h === null || h === undefined) return null;
    const current = apiKeyFromFields(h);
    if (current.revokedAt !== null) return { key: current, revoked: false };
    const key: ApiKeyRecord = { ...current, revokedAt: at, revokedBy: by };
    const reply = await db.run(REVOKE_KEY, {
      checks: [[k, revOf(h)]],
      fields: apiKeyFields(key),
      events: eventArgs(events?.(key)),
    });
    return reply === CONFLICT ? CONFLICT : { key, revoked: true };
  });
}
