import type { Script } from "./script.js";

/**
 * Writes a job changed in TypeScript if it is still as read, withdrawing the runs prepared ahead
 * for it (with \`now\`: they must be those it read, \`prepared\` their first fire time; with
 * \`indexed\` they are found in the job's index of pending runs, lib.ts prepared_runs), with its
 * events.
 */
export const UPDATE_JOB: Script = {
  name: "metronomeUpdateJob",
  body: `
if not holds(p.checks) then return 'conflict' end
local f = p.fields
if p.now ~= nil then
  local first = ''
  local runs = prepared_runs(f.scheduler, f.id, p.now, p.indexed ~= nil)
  for _, r in ipairs(runs) do
    if first == '' or tonumber(r[2]) < tonumber(first) then first = r[2] end
  end
  if first ~= p.prepared then return 'conflict' end
  for _, r in ipairs(runs) do del_run(f.scheduler, r[1], f.id) end
end
put_job(f.scheduler, f)
append_events()
return 'ok'
`,
};
