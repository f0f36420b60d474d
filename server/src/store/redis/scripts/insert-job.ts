import type { Script } from "./script.js";

/** Inserts a job with its events unless (scheduler, id) exists: 1, or 0. */
export const INSERT_JOB: Script = {
  name: "metronomeInsertJob",
  body: `
local f = p.fields
if redis.call('EXISTS', sk(f.scheduler, 'job:' .. f.id)) == 1 then return 0 end
put_job(f.scheduler, f)
append_events(p.events)
return 1
`,
};
