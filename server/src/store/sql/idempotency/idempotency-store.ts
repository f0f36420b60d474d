/** The idempotency records (port-idempotency.ts) over SQL, on the API's runner. */
import type { IdempotentCall } from "../../../lib/idempotent-call.js";
import type {
  IdempotencyRecord,
  IdempotencyStore,
  IdempotentAnswer,
} from "../../port-idempotency.js";
import type { Dialect } from "../dialect.js";
import type { SqlRunner } from "../runner.js";
import { deleteExpiredIdempotencyKeys } from "./delete-expired.js";
import { getIdempotencyRecord } from "./get-record.js";
import { recordAnswer } from "./record-answer.js";

export function sqlIdempotencyStore(dialect: Dialect, runner: SqlRunner): IdempotencyStore {
  return {
    getIdempotencyRecord: (principal: string, key: string, now: number) =>
      runner.autocommit(() => getIdempotencyRecord(principal, key, now)),
    recordAnswer: (
      call: IdempotentCall,
      answer: IdempotentAnswer,
      now: number,
    ): Promise<IdempotencyRecord | null> =>
      runner.tx(() => recordAnswer(dialect, call, answer, now)),
    deleteExpiredIdempotencyKeys: (now: number, limit: number) =>
      runner.tx(() => deleteExpiredIdempotencyKeys(now, limit)),
  };
}
