import type { IdempotentCall } from "../../../lib/idempotent-call.js";
import type { IdempotencyRecord, IdempotentAnswer } from "../../port-idempotency.js";
import type { Dialect } from "../dialect.js";
import { all, exec, num, placeholders, strOrNull, type Tx } from "../runner.js";
import { takeOver } from "./claim-key.js";
import { KEY_COLUMNS, KEY_SELECT, answerCells, keyCells, recordFromRow } from "./key-rows.js";

/**
 * Records a call's answer: on the record its change wrote, or on a new one when it changed
 * nothing. Null when recorded; the record of another call holding the key otherwise.
 */
export function* recordAnswer(
  dialect: Dialect,
  call: IdempotentCall,
  answer: IdempotentAnswer,
  now: number,
): Tx<IdempotencyRecord | null> {
  const updated = yield* exec(
    "UPDATE `idempotency_keys` SET `answer_code` = ?, `answer` = ? WHERE `principal` = ? AND `idem_key` = ? AND `call_id` = ?",
    [...answerCells(answer), call.principal, call.key, call.callId],
  );
  if (updated > 0) return null;
  const inserted = yield* exec(
    `${dialect.insertIgnore} INTO \`idempotency_keys\` (${KEY_COLUMNS.map((c) => `\`${c}\``).join(", ")}) VALUES (${placeholders(KEY_COLUMNS.length)})${dialect.onConflictIgnore}`,
    keyCells(call, answer),
  );
  if (inserted > 0) return null;
  const [row] = yield* all(
    `SELECT ${KEY_SELECT} FROM \`idempotency_keys\` WHERE \`principal\` = ? AND \`idem_key\` = ?`,
    [call.principal, call.key],
  );
  if (row === undefined) return null; // deleted meanwhile: nothing to answer but ours
  const holder = strOrNull(row.call_id);
  if (holder === call.callId) return null;
  if (num(row.expires_at) <= now && (yield* takeOver(call, holder, answer))) return null;
  return recordFromRow(row);
}
