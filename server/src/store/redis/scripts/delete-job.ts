import type { Script } from "./script.js";

/**
 * Deletes a job if it and its pending runs are still as read: the runs prepared ahead for it are
 * withdrawn, the other pending runs written cancelled (decided in TypeScript), with the events.
 */
export const DELETE_JOB: Script = {
  name: "metronomeDeleteJob",
  body: `
if not holds(p.checks) then return 'conflict' end
del_job(p.scheduler, p.id)
for _, id in ipairs(p.withdrawn or {}) do del_run(p.scheduler, id) end
for _, r in ipairs(p.runs or {}) do put_run(r) end
append_events(p.events)
return 'ok'
`,
};
