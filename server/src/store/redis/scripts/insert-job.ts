import type { Script } from "./script.js";

/**
 * Inserts jobs, each with its events unless (scheduler, id) exists, in order (of two with the
 * same id the first is inserted): 1 or 0 each; with \`one\`, the one job's 1 or 0 alone (a
 * keyed call's insert: scripts/lib.ts, \`keyed\`, records the key only when it wrote).
 */
export const INSERT_JOBS: Script = {
  name: "metronomeInsertJobs",
  body: `
local out = {}
local events = {}
for i, j in ipairs(p.jobs) do
  local f = j.fields
  if redis.call('EXISTS', sk(f.scheduler, 'job:' .. f.id)) == 1 then
    out[i] = 0
  else
    put_job(f.scheduler, f)
    for _, e in ipairs(j.events or {}) do events[#events + 1] = e end
    out[i] = 1
  end
end
append_events(events)
if p.one ~= nil then return out[1] end
return out
`,
};
