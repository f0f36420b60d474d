import type { Script } from "./script.js";

/**
 * Commits run transitions decided in TypeScript (results, a timeout, a cancel, a sweep, leases
 * handed back) if every run read is still as read: the fencing of results and leases. Runs come
 * whole (\`runs\`, lib.ts put_run) or as changes to the records checked (\`changes\`, put_changes).
 */
export const PUT_RUNS: Script = {
  name: "metronomePutRuns",
  body: `
if not holds(p.checks) then return 'conflict' end
for _, r in ipairs(p.runs or {}) do put_run(r) end
put_changes(p.changes)
append_events()
return 'ok'
`,
};
