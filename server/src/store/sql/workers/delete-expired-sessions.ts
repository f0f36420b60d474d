import { exec, type Tx } from "../runner.js";

/** Deletes rows that expired before `before` (sessions of nodes that stopped without cleaning up). */
export function* deleteExpiredSessions(before: number): Tx<number> {
  return yield* exec("DELETE FROM `worker_handlers` WHERE `expires_at` < ?", [before]);
}
