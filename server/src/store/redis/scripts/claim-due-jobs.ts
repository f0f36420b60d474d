import type { Script } from "./script.js";

/**
 * Commits a claim decided in TypeScript: if every claimed job is still as read (no other node
 * claimed or changed it) and none of the new runs' (job, fire time) keys was taken meanwhile,
 * creates the runs, advances the jobs' next run times, deletes the jobs whose trigger ended and
 * pauses those that cannot be planned, with the events. Two nodes claiming the same job: one
 * commits, the other's claim finds the job changed and reads again. Either way the holds of
 * reserve-jobs.ts on \`release\` end. The runs are new runs' changes (lib.ts, put_changes) — and
 * the changes of the existing runs a coalesced run folds (firing.ts), whose revisions are in
 * \`checks\` — and a
 * job advanced, [scheduler, id, next run time, revision, first fire time prepared ahead ('':
 * none), last fire prepared ('1'/'0')], takes the revision after the one checked (a job whose
 * trigger ended with a run prepared ahead is advanced: it stays until that run is due).
 */
export const CLAIM_DUE_JOBS: Script = {
  name: "metronomeClaimDueJobs",
  body: `
for _, j in ipairs(p.release or {}) do
  redis.call('HDEL', sk(j[1], 'job:' .. j[2]), 'held_until')
end
if not holds(p.checks) then return 'conflict' end
for _, r in ipairs(p.runs or {}) do
  if r.from == nil and redis.call('HEXISTS', sk(r.s, 'fired:' .. r.j), r.st .. '/' .. r.m) == 1 then
    return 'conflict'
  end
end
put_changes(p.runs)
local due = {}
for _, a in ipairs(p.advance or {}) do
  local key = sk(a[1], 'job:' .. a[2])
  redis.call('HSET', key, 'next_run_time', a[3], 'rev', a[4], 'last_fire_prepared', a[6])
  if a[5] == '' then redis.call('HDEL', key, 'prepared_first')
  else redis.call('HSET', key, 'prepared_first', a[5]) end
  local k = sk(a[1], 'jobs')
  local l = due[k]
  if l == nil then l = {}; due[k] = l end
  l[#l + 1] = a[3]
  l[#l + 1] = a[2]
end
for k, l in pairs(due) do in_parts('ZADD', k, l, 2) end
for _, j in ipairs(p.finished or {}) do del_job(j[1], j[2]) end
for _, j in ipairs(p.broken or {}) do
  local key = sk(j[1], 'job:' .. j[2])
  redis.call('HSET', key, 'paused', '1')
  redis.call('HDEL', key, 'next_run_time')
  redis.call('HINCRBY', key, 'rev', 1)
  redis.call('ZADD', sk(j[1], 'jobs'), NO_NEXT, j[2])
end
append_events()
return 'ok'
`,
};
