/** The `idempotency_keys` table's columns, and a record from its row (port-idempotency.ts). */
import type { IdempotentCall } from "../../../lib/idempotent-call.js";
import type { IdempotencyRecord, IdempotentAnswer } from "../../port-idempotency.js";
import { num, numOrNull, strOrNull, type Param, type Row } from "../runner.js";

export const KEY_COLUMNS = [
  "principal",
  "idem_key",
  "method",
  "request_hash",
  "call_id",
  "deadline_at",
  "expires_at",
  "answer_code",
  "answer",
] as const;

/**
 * The columns of a record, for its SELECTs: named rather than `*`, so that a column added by a
 * later migration does not change a statement's result type under the nodes still running
 * (PostgreSQL refuses a statement prepared before such a change: "cached plan must not change
 * result type").
 */
export const KEY_SELECT = KEY_COLUMNS.map((c) => `\`${c}\``).join(", ");

/** `answer_code` of a response (gRPC's OK); the response's bytes are in `answer`, in base64. */
const OK = 0;

export function answerCells(answer: IdempotentAnswer | null): [number | null, string | null] {
  if (answer === null) return [null, null];
  return answer.ok
    ? [OK, Buffer.from(answer.response).toString("base64")]
    : [answer.code, answer.message];
}

/** A row's cells, in KEY_COLUMNS' order. */
export function keyCells(call: IdempotentCall, answer: IdempotentAnswer | null): Param[] {
  return [
    call.principal,
    call.key,
    call.method,
    call.requestHash,
    call.callId,
    call.deadlineAt,
    call.expiresAt,
    ...answerCells(answer),
  ];
}

export function recordFromRow(row: Row): IdempotencyRecord {
  const code = numOrNull(row.answer_code);
  const text = strOrNull(row.answer) ?? "";
  return {
    method: strOrNull(row.method) ?? "",
    requestHash: strOrNull(row.request_hash) ?? "",
    callId: strOrNull(row.call_id) ?? "",
    deadlineAt: num(row.deadline_at),
    expiresAt: num(row.expires_at),
    answer:
      code === null
        ? null
        : code === OK
          ? { ok: true, response: new Uint8Array(Buffer.from(text, "base64")) }
          : { ok: false, code, message: text },
  };
}
