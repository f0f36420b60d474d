import type { Script } from "./script.js";

/**
 * The rest of a RemoveAllJobs (jobs.ts `cancelPendingRuns`): if the pending runs read are still
 * as read, withdraws those prepared ahead and writes the others cancelled.
 */
export const CANCEL_PENDING_RUNS: Script = {
  name: "metronomeCancelPendingRuns",
  body: `
if not holds(p.checks) then return 'conflict' end
for _, id in ipairs(p.withdrawn or {}) do del_run(p.scheduler, id) end
for _, r in ipairs(p.runs or {}) do put_run(r) end
append_events()
return 'ok'
`,
};
