import { all, exec, type Tx } from "../runner.js";

/** Retention: deletes up to `limit` records expired by `now`; answers how many. */
export function* deleteExpiredIdempotencyKeys(now: number, limit: number): Tx<number> {
  const rows = yield* all<{ principal: string; idem_key: string }>(
    "SELECT `principal`, `idem_key` FROM `idempotency_keys` WHERE `expires_at` <= ? ORDER BY `expires_at` LIMIT ?",
    [now, limit],
  );
  if (rows.length === 0) return 0;
  // Still expired when deleted: a record a call took over meanwhile stays.
  return yield* exec(
    `DELETE FROM \`idempotency_keys\` WHERE \`expires_at\` <= ? AND (${rows
      .map(() => "(`principal` = ? AND `idem_key` = ?)")
      .join(" OR ")})`,
    [now, ...rows.flatMap((r) => [r.principal, r.idem_key])],
  );
}
