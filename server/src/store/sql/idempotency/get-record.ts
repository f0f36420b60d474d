import type { IdempotencyRecord } from "../../port-idempotency.js";
import { all, type Tx } from "../runner.js";
import { KEY_SELECT, recordFromRow } from "./key-rows.js";

/** The record of (principal, key), unless there is none or it expired by `now`. */
export function* getIdempotencyRecord(
  principal: string,
  key: string,
  now: number,
): Tx<IdempotencyRecord | null> {
  const [row] = yield* all(
    `SELECT ${KEY_SELECT} FROM \`idempotency_keys\` WHERE \`principal\` = ? AND \`idem_key\` = ? AND \`expires_at\` > ?`,
    [principal, key, now],
  );
  return row === undefined ? null : recordFromRow(row);
}
