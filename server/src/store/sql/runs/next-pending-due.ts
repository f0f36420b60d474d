import { all, notIn, numOrNull, placeholders, type Tx } from "../runner.js";

/** The earliest due time of a pending run of these handlers (the dispatcher sleeps until it). */
export function* nextPendingDue(
  handlers: readonly string[],
  paused: readonly string[],
): Tx<number | null> {
  if (handlers.length === 0) return null;
  const rows = yield* all(
    `SELECT MIN(\`due_at\`) AS \`t\` FROM \`runs\` WHERE \`status\` = 'pending' AND \`handler\` IN (${placeholders(handlers.length)})${notIn("scheduler", paused)}`,
    [...handlers, ...paused],
  );
  return numOrNull(rows[0]?.t);
}
