/**
 * The `worker_handlers` table: which handlers the worker sessions of every node serve, so that
 * a node can tell whether a job's handler has a worker anywhere in the cluster. Rows expire
 * unless their node refreshes them, so a crashed node's sessions stop counting by themselves.
 */
import { all, exec, placeholders, type Tx } from "./ops.js";

const PART = 500;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A live session and the handlers it serves. */
export interface SessionRow {
  readonly sessionId: string;
  readonly workerId: string;
  readonly nodeId: string;
  readonly handlers: readonly string[];
}

/** Writes a session's rows (a session registers each handler once). */
export function* registerSession(s: SessionRow, expiresAt: number): Tx<void> {
  for (const part of chunks(s.handlers, PART))
    yield* exec(
      `INSERT INTO \`worker_handlers\` (\`session_id\`, \`handler\`, \`worker_id\`, \`node_id\`, \`expires_at\`) VALUES ${part.map(() => "(?, ?, ?, ?, ?)").join(", ")}`,
      part.flatMap((h) => [s.sessionId, h, s.workerId, s.nodeId, expiresAt]),
    );
}

/** Deletes a session's rows (it drained or ended). */
export function* unregisterSession(sessionId: string): Tx<void> {
  yield* exec("DELETE FROM `worker_handlers` WHERE `session_id` = ?", [sessionId]);
}

/** Pushes the expiry of live sessions' rows forward. */
export function* refreshSessions(sessionIds: readonly string[], expiresAt: number): Tx<void> {
  for (const part of chunks(sessionIds, PART))
    yield* exec(
      `UPDATE \`worker_handlers\` SET \`expires_at\` = ? WHERE \`session_id\` IN (${placeholders(part.length)})`,
      [expiresAt, ...part],
    );
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
  for (const part of chunks(handlers, PART)) {
    const rows = yield* all(
      `SELECT \`handler\`, COUNT(*) AS \`n\` FROM \`worker_handlers\` WHERE \`handler\` IN (${placeholders(part.length)}) AND \`expires_at\` > ? AND \`node_id\` <> ? GROUP BY \`handler\``,
      [...part, now, exceptNode],
    );
    for (const r of rows) counts.set(String(r.handler), Number(r.n));
  }
  return counts;
}

/** Deletes rows that expired before `before` (sessions of nodes that stopped without cleaning up). */
export function* deleteExpiredSessions(before: number): Tx<number> {
  return yield* exec("DELETE FROM `worker_handlers` WHERE `expires_at` < ?", [before]);
}
