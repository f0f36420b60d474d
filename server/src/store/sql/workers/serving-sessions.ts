import { chunks } from "../../../lib/chunks.js";
import { all, placeholders, type Tx } from "../runner.js";
import { REGISTRY_PART } from "./register-session.js";

/**
 * How many unexpired sessions of nodes other than `exceptNode` serve each of these handlers
 * (handlers no session serves are absent).
 */
export function* servingSessions(
  handlers: readonly string[],
  now: number,
  exceptNode: string,
): Tx<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const part of chunks(handlers, REGISTRY_PART)) {
    const rows = yield* all(
      `SELECT \`handler\`, COUNT(*) AS \`n\` FROM \`worker_handlers\` WHERE \`handler\` IN (${placeholders(part.length)}) AND \`expires_at\` > ? AND \`node_id\` <> ? GROUP BY \`handler\``,
      [...part, now, exceptNode],
    );
    for (const r of rows) counts.set(String(r.handler), Number(r.n));
  }
  return counts;
}
