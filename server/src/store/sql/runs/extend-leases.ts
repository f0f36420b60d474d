import type { Lease } from "../../../domain/runs.js";
import { chunks } from "../../../lib/chunks.js";
import { all, exec, type Tx } from "../runner.js";
import { leaseMatch } from "./release-leases.js";

/**
 * Extends the leases that are still their run's current, unexpired lease to now + leaseMs
 * (moving them to `workerId`); answers the others (lost).
 */
export function* extendLeases(
  now: number,
  leases: readonly Lease[],
  leaseMs: number,
  workerId: string,
): Tx<Lease[]> {
  if (leases.length === 0) return [];
  const lost: Lease[] = [];
  for (const part of chunks(leases, 200)) {
    // The run ids select rows by primary key; attempt and token are then checked per row.
    const match = leaseMatch(part);
    const n = yield* exec(
      `UPDATE \`runs\` SET \`lease_expires_at\` = ?, \`worker_id\` = ?, \`updated_at\` = ? WHERE \`status\` = 'running' AND \`lease_expires_at\` >= ? AND ${match.sql}`,
      [now + leaseMs, workerId, now, now, ...match.params],
    );
    if (n === part.length) continue;
    const current = yield* all(
      `SELECT \`id\`, \`attempt\`, \`lease_token\` FROM \`runs\` WHERE \`status\` = 'running' AND \`lease_expires_at\` = ? AND ${match.sql}`,
      [now + leaseMs, ...match.params],
    );
    const ok = new Set(current.map((r) => `${String(r.id)}/${String(r.attempt)}`));
    for (const l of part) if (!ok.has(`${l.runId}/${String(l.attempt)}`)) lost.push(l);
  }
  return lost;
}
