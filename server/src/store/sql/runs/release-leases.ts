import type { Lease } from "../../../domain/runs.js";
import { exec, placeholders, type Tx } from "../runner.js";

/** The runs of these leases, still running under them: `id IN (…) AND <lease matches>`. */
export function leaseMatch(leases: readonly Lease[]): { sql: string; params: string[] } {
  const ids = placeholders(leases.length);
  return {
    sql: `\`id\` IN (${ids}) AND CONCAT(\`id\`, '/', \`attempt\`, '/', \`lease_token\`) IN (${ids})`,
    params: [
      ...leases.map((l) => l.runId),
      ...leases.map((l) => `${l.runId}/${String(l.attempt)}/${l.token}`),
    ],
  };
}

/**
 * Hands back runs leased ahead that were never sent (their session ended first): pending again,
 * same attempt, due at the time they were to start (`handedBack`, as one statement).
 */
export function* releaseLeases(now: number, leases: readonly Lease[]): Tx<number> {
  if (leases.length === 0) return 0;
  const match = leaseMatch(leases);
  return yield* exec(
    `UPDATE \`runs\` SET \`status\` = 'pending', \`due_at\` = \`started_at\`, \`started_at\` = NULL, \`worker_id\` = NULL, \`lease_token\` = NULL, \`lease_expires_at\` = NULL, \`deadline_at\` = NULL, \`updated_at\` = ? WHERE \`status\` = 'running' AND ${match.sql}`,
    [now, ...match.params],
  );
}
