import type { EventDraft } from "../../../domain/events.js";
import type { ApiKeyRecord } from "../../../domain/keys.js";
import type { Dialect } from "../dialect.js";
import { appendEvents } from "../events/append-events.js";
import { all, exec, type Tx } from "../runner.js";
import { KEY_SELECT, keyFromRow } from "./key-rows.js";

/** Revokes a key under a lock unless it is revoked already (see KeyStore.revokeKey). */
export function* revokeKey(
  dialect: Dialect,
  id: string,
  at: number,
  by: string,
  events?: (revoked: ApiKeyRecord) => readonly EventDraft[],
): Tx<{ key: ApiKeyRecord; revoked: boolean } | null> {
  const rows = yield* all(
    `SELECT ${KEY_SELECT} FROM \`api_keys\` WHERE \`id\` = ?${dialect.lock}`,
    [id],
  );
  if (rows[0] === undefined) return null;
  const current = keyFromRow(rows[0]);
  if (current.revokedAt !== null) return { key: current, revoked: false };
  yield* exec(
    "UPDATE `api_keys` SET `revoked_at` = ?, `revoked_by` = ? WHERE `id` = ? AND `revoked_at` IS NULL",
    [at, by, id],
  );
  const key: ApiKeyRecord = { ...current, revokedAt: at, revokedBy: by };
  if (events !== undefined) yield* appendEvents(events(key));
  return { key, revoked: true };
}
