import type { Lease, RunStatus } from "../../../domain/runs.js";
import { chunks } from "../../../lib/chunks.js";
import type { LeaseState } from "../../port.js";
import { all, num, placeholders, type Tx } from "../runner.js";

/** For each lease: is it still its run's current running lease? (false: stop the handler) */
export function* leaseStates(leases: readonly Lease[]): Tx<Map<string, LeaseState>> {
  const out = new Map<string, LeaseState>();
  for (const part of chunks(leases, 200)) {
    const rows = yield* all(
      `SELECT \`id\`, \`attempt\`, \`lease_token\`, \`status\`, \`status_reason\` FROM \`runs\` WHERE \`id\` IN (${placeholders(part.length)})`,
      part.map((l) => l.runId),
    );
    const byId = new Map(rows.map((r) => [String(r.id), r]));
    for (const l of part) {
      const r = byId.get(l.runId);
      const status = (r === undefined ? "failed" : String(r.status)) as RunStatus;
      out.set(l.runId, {
        status,
        reason: r === undefined ? "" : String(r.status_reason),
        current:
          r !== undefined &&
          status === "running" &&
          num(r.attempt) === l.attempt &&
          String(r.lease_token) === l.token,
      });
    }
  }
  return out;
}
