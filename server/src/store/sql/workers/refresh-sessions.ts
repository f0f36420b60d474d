import { chunks } from "../../../lib/chunks.js";
import { exec, placeholders, type Tx } from "../runner.js";
import { REGISTRY_PART } from "./register-session.js";

/** Pushes the expiry of live sessions' rows forward. */
export function* refreshSessions(sessionIds: readonly string[], expiresAt: number): Tx<void> {
  for (const part of chunks(sessionIds, REGISTRY_PART))
    yield* exec(
      `UPDATE \`worker_handlers\` SET \`expires_at\` = ? WHERE \`session_id\` IN (${placeholders(part.length)})`,
      [expiresAt, ...part],
    );
}
