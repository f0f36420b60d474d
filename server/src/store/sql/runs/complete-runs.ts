import type { Lease, Outcome, Run } from "../../../domain/runs.js";
import { attemptFailed, succeeded } from "../../../domain/run-transitions.js";
import { chunksWithin } from "../../../lib/chunks.js";
import type { Verdict } from "../../port.js";
import type { Dialect } from "../dialect.js";
import { RUN_SELECT, runFromRow, writeRun } from "../run-rows.js";
import { all, placeholders, STATEMENT_CHARS, write, type Tx } from "../runner.js";

/**
 * Records the outcomes of several attempts in one transaction. Each is accepted only for its
 * run's current lease (run id, attempt and token, run still running): a result for a lease that
 * is no longer the worker's is rejected (fencing). A repeat of an accepted result for the same
 * lease is accepted again without a change.
 */
export function* completeRuns(
  d: Dialect,
  now: number,
  items: readonly { readonly lease: Lease; readonly outcome: Outcome }[],
): Tx<Verdict[]> {
  const ids = [...new Set(items.map((i) => i.lease.runId))];
  if (ids.length === 0) return [];
  const rows = yield* all(
    `SELECT ${RUN_SELECT} FROM \`runs\` WHERE \`id\` IN (${placeholders(ids.length)})${d.lock}`,
    ids,
  );
  const runs = new Map(rows.map((r) => [String(r.id), runFromRow(r)]));
  const verdicts: Verdict[] = [];
  const successes: Run[] = [];
  for (const { lease, outcome } of items) {
    const run = runs.get(lease.runId);
    const same =
      run !== undefined && run.attempt === lease.attempt && run.leaseToken === lease.token;
    if (run === undefined || !same) {
      verdicts.push({
        accepted: false,
        reason:
          run === undefined || run.attempt < lease.attempt ? "unknown_lease" : "lease_expired",
        run: run ?? null,
      });
      continue;
    }
    if (run.status !== "running") {
      if (run.status === "cancelled" || run.status === "timed_out")
        verdicts.push({ accepted: false, reason: run.status, run });
      else if (run.status === "failed" && run.error?.type === "LeaseExpired")
        // The lease expired before this result came: the run failed without it.
        verdicts.push({ accepted: false, reason: "lease_expired", run });
      else if (run.status === "succeeded" || run.status === "failed")
        // A repeat of a result that was already recorded.
        verdicts.push({ accepted: true, run, recorded: false });
      else verdicts.push({ accepted: false, reason: "lease_expired", run });
      continue;
    }
    let next: Run;
    if (outcome.kind === "success") {
      next = succeeded(run, outcome.result, now);
      successes.push(next);
    } else {
      next = attemptFailed(run, outcome.error, now);
      yield* writeRun(next);
    }
    runs.set(run.id, next);
    verdicts.push({ accepted: true, run: next, recorded: true });
  }
  // Successes in one statement per part: they differ only in their result. Fewer than 200 a
  // part when their results are large (STATEMENT_CHARS).
  const results = successes.map((r) => ({ id: r.id, json: JSON.stringify(r.result) }));
  for (const part of chunksWithin(results, 200, STATEMENT_CHARS, (r) => r.json.length)) {
    yield* write(
      "UPDATE `runs` SET `status` = 'succeeded', `lease_expires_at` = NULL, `deadline_at` = NULL, `finished_at` = ?, `updated_at` = ?, `result` = CASE `id` " +
        part.map(() => "WHEN ? THEN ?").join(" ") +
        ` END WHERE \`id\` IN (${placeholders(part.length)})`,
      [now, now, ...part.flatMap((r) => [r.id, r.json]), ...part.map((r) => r.id)],
    );
  }
  return verdicts;
}
