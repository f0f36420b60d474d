import type { Script } from "./script.js";

/**
 * Deletes every job of a scheduler if its jobs and pending runs are still as read (\`count\`
 * jobs, and with \`pending\` that many pending runs: none became pending meanwhile, a retry
 * say): the runs prepared ahead are withdrawn, the other pending runs written cancelled. Without
 * \`pending\` (a RemoveAllJobs in parts) the runs not read are left to CANCEL_PENDING_RUNS.
 */
export const DELETE_ALL_JOBS: Script = {
  name: "metronomeDeleteAllJobs",
  body: `
if not holds(p.checks) then return 'conflict' end
if redis.call('ZCARD', sk(p.scheduler, 'jobs')) ~= tonumber(p.count) then return 'conflict' end
if p.pending ~= nil and redis.call('ZCARD', sk(p.scheduler, 'pending')) ~= tonumber(p.pending) then
  return 'conflict'
end
for _, id in ipairs(redis.call('ZRANGE', sk(p.scheduler, 'jobs'), 0, -1)) do
  del_job(p.scheduler, id)
end
for _, id in ipairs(p.withdrawn or {}) do del_run(p.scheduler, id) end
for _, r in ipairs(p.runs or {}) do put_run(r) end
append_events()
return 'ok'
`,
};
