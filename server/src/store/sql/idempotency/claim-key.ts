import type { IdempotentCall } from "../../../lib/idempotent-call.js";
import { IdempotencyKeyTaken, type IdempotentAnswer } from "../../port-idempotency.js";
import type { Dialect } from "../dialect.js";
import { all, exec, num, placeholders, strOrNull, type Tx } from "../runner.js";
import { KEY_COLUMNS, keyCells } from "./key-rows.js";

/**
 * Inside a keyed call's transaction, before its first write: makes sure the key's record is
 * there and is this call's, so that it commits with the change. Throws IdempotencyKeyTaken when
 * another call holds the key (the transaction then rolls back: nothing of it is applied).
 *
 * A concurrent call with the same key waits here, on the record's row, until the first one's
 * transaction ends (InnoDB and PostgreSQL make an insert of a key another open transaction
 * inserted wait; SQLite runs one transaction at a time), then finds the record.
 */
export function* claimKey(
  dialect: Dialect,
  call: IdempotentCall,
  now: number,
  again = true,
): Tx<void> {
  const inserted = yield* exec(
    `${dialect.insertIgnore} INTO \`idempotency_keys\` (${KEY_COLUMNS.map((c) => `\`${c}\``).join(", ")}) VALUES (${placeholders(KEY_COLUMNS.length)})${dialect.onConflictIgnore}`,
    keyCells(call, null),
  );
  if (inserted > 0) return;
  // A plain read: the insert found the record committed (it waited for an open transaction's),
  // and holds a shared lock on it. Asking for an exclusive lock here would deadlock the
  // transactions of one call that wait together (AddJobs' jobs); the takeover of an expired
  // record is guarded by its holder instead.
  const [row] = yield* all(
    "SELECT `call_id`, `expires_at` FROM `idempotency_keys` WHERE `principal` = ? AND `idem_key` = ?",
    [call.principal, call.key],
  );
  // Gone meanwhile (retention deleted an expired record): insert it again, once. The change
  // must not commit without its key's record.
  if (row === undefined) {
    if (again) return yield* claimKey(dialect, call, now, false);
    throw new IdempotencyKeyTaken();
  }
  const holder = strOrNull(row.call_id);
  // An earlier transaction of this same call wrote it.
  if (holder === call.callId) return;
  if (num(row.expires_at) <= now && (yield* takeOver(call, holder, null))) return;
  throw new IdempotencyKeyTaken();
}

/**
 * Makes an expired record (of call `holder`) this call's, with `answer`; false when it changed
 * meanwhile.
 */
export function* takeOver(
  call: IdempotentCall,
  holder: string | null,
  answer: IdempotentAnswer | null,
): Tx<boolean> {
  const cells = keyCells(call, answer);
  return (
    (yield* exec(
      `UPDATE \`idempotency_keys\` SET ${KEY_COLUMNS.slice(2)
        .map((c) => `\`${c}\` = ?`)
        .join(", ")} WHERE \`principal\` = ? AND \`idem_key\` = ? AND \`call_id\` = ?`,
      [...cells.slice(2), call.principal, call.key, holder],
    )) > 0
  );
}
