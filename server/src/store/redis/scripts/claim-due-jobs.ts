import type { Script } from "./script.js";

/**
 * Commits a claim decided in TypeScript: if every claimed job is still as read (no other node
 * claimed or changed it) and none of the new runs' (job, fire time) keys was taken meanwhile,
 * creates the runs, advances the jobs' next run times, deletes the jobs whose trigger ended and
 * pauses those that cannot be planned, with the events. Two nodes claiming the same job: one
 * commits, the other's claim finds the job changed and reads again. Either way the holds of
 * reserve-jobs.ts on \`release\` end.
 */
export const CLAIM_DUE_JOBS: Script = {
  name: "metronomeClaimDueJobs",
  body: `
for _, j in ipairs(p.release or {}) do
  redis.call('HDEL', sk(j[1], 'job:' .. j[2]), 'held_until')
end
if not holds(p.checks) then return 'conflict' end
for _, r in ipairs(p.runs or {}) do
  if run_exists(r) then return 'conflict' end
end
for _, r in ipairs(p.runs or {}) do put_run(r) end
for _, a in ipairs(p.advance or {}) do
  local key = sk(a[1], 'job:' .. a[2])
  redis.call('HSET', key, 'next_run_time', a[3])
  redis.call('HINCRBY', key, 'rev', 1)
  redis.call('ZADD', sk(a[1], 'jobs'), a[3], a[2])
end
for _, j in ipairs(p.finished or {}) do del_job(j[1], j[2]) end
for _, j in ipairs(p.broken or {}) do
  local key = sk(j[1], 'job:' .. j[2])
  redis.call('HSET', key, 'paused', '1')
  redis.call('HDEL', key, 'next_run_time')
  redis.call('HINCRBY', key, 'rev', 1)
  redis.call('ZADD', sk(j[1], 'jobs'), NO_NEXT, j[2])
end
append_events(p.events)
return 'ok'
`,
};
