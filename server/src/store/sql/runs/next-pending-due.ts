import { all, notIn, numOrNull, placeholders, type Tx } from "../runner.js";

/**
 * The earliest due time of a pending run of these handlers, of those due after `after` when
 * given (the dispatcher sleeps until it).
 */
export function* nextPendingDue(
  handlers: readonly string[],
  paused: readonly string[],
  after?: number,
): Tx<number | null> {
  if (handlers.length === 0) return null;
  const since = after === undefined ? "" : " AND `due_at` > ?";
  const rows = yield* all(
    `SELECT MIN(\`due_at\`) AS \`t\` FROM \`runs\` WHERE \`status\` = 'pending' AND \`handler\` IN (${placeholders(handlers.length)})${since}${notIn("scheduler", paused)}`,
    [...handlers, ...(after === undefined ? [] : [after]), ...paused],
  );
  return numOrNull(rows[0]?.t);
}
