import { chunks } from "../../../lib/chunks.js";
import { all, placeholders, type Param, type Tx } from "../runner.js";
import { REGISTRY_PART } from "./register-session.js";

/**
 * The statement counting, per handler, the unexpired sessions of nodes other than `exceptNode`
 * that serve it (rows of `handler`, `n`).
 */
export function servingSessionsStatement(
  handlers: readonly string[],
  now: number,
  exceptNode: string,
): { sql: string; params: Param[] } {
  return {
    sql: `SELECT \`handler\`, COUNT(*) AS \`n\` FROM \`worker_handlers\` WHERE \`handler\` IN (${placeholders(handlers.length)}) AND \`expires_at\` > ? AND \`node_id\` <> ? GROUP BY \`handler\``,
    params: [...handlers, now, exceptNode],
  };
}

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
    const { sql, params } = servingSessionsStatement(part, now, exceptNode);
    const rows = yield* all(sql, params);
    for (const r of rows) counts.set(String(r.handler), Number(r.n));
  }
  return counts;
}
