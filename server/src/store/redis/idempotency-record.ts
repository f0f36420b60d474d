/**
 * An idempotency key's record on Redis (idempotency.ts): where it is, and its fields as a
 * script writes them (the SQL stores' `idempotency_keys` columns).
 */
import type { IdempotentCall } from "../../lib/idempotent-call.js";
import type { IdempotentAnswer } from "../port-idempotency.js";
import { KEY_COLUMNS, keyCells } from "../sql/idempotency/key-rows.js";
import type { Keys } from "./keys.js";

/** The key of (principal, key)'s record: the principal's length keeps any two apart. */
export function recordKey(keys: Keys, principal: string, key: string): string {
  return keys.global(`idem:${String(principal.length)}:${principal}:${key}`);
}

/** A call's record as a script writes it: its key, its fields (no answer: none), and now. */
export function idempotencyPayload(
  keys: Keys,
  call: IdempotentCall,
  answer: IdempotentAnswer | null,
  now: number,
): { k: string; fields: Record<string, string>; now: string } {
  const cells = keyCells(call, answer);
  const fields: Record<string, string> = {};
  KEY_COLUMNS.forEach((column, i) => {
    const cell = cells[i];
    if (cell !== null && cell !== undefined) fields[column] = String(cell);
  });
  return { k: recordKey(keys, call.principal, call.key), fields, now: String(now) };
}
