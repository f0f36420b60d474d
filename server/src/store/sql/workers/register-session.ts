/**
 * The `worker_handlers` table: one row per live worker session and handler it serves, with an
 * expiry its node pushes forward (refresh-sessions.ts); a crashed node's rows expire.
 */
import type { EventDraft } from "../../../domain/events.js";
import { chunks } from "../../../lib/chunks.js";
import type { SessionRecord } from "../../port.js";
import { appendEvents } from "../events/append-events.js";
import { exec, type Tx } from "../runner.js";

/** Rows per statement. */
export const REGISTRY_PART = 500;

/** Writes a session's rows (a session registers each handler once), with its events. */
export function* registerSession(
  s: SessionRecord,
  expiresAt: number,
  events: readonly EventDraft[],
): Tx<void> {
  for (const part of chunks(s.handlers, REGISTRY_PART))
    yield* exec(
      `INSERT INTO \`worker_handlers\` (\`session_id\`, \`handler\`, \`worker_id\`, \`node_id\`, \`expires_at\`) VALUES ${part.map(() => "(?, ?, ?, ?, ?)").join(", ")}`,
      part.flatMap((h) => [s.sessionId, h, s.workerId, s.nodeId, expiresAt]),
    );
  yield* appendEvents(events);
}
