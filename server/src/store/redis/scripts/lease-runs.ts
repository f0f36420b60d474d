import type { Script } from "./script.js";

/**
 * Commits a hand-out decided in TypeScript: if every run read is still as read and no run of
 * their jobs started since the hand-out read each job's running runs (\`running\`: [scheduler,
 * job, ids]; max_instances was decided on them), writes the runs taken (running under the lease)
 * and those ended at hand-out (skipped, missed), with the events. A run that ended meanwhile
 * changes nothing: the hand-out is then ordered before its end, which read nothing it wrote.
 * Two nodes handing out the same run: one commits, the other reads again. Either way the holds
 * of reserve-runs.ts end: those on \`release\` (the runs not written) here, those of the runs
 * written with their changes (lib.ts, put_changes: \`held_until\` is one of the fields they remove).
 */
export const LEASE_RUNS: Script = {
  name: "metronomeLeaseRuns",
  body: `
local function release(list)
  for _, r in ipairs(list or {}) do
    redis.call('HDEL', sk(r[1], 'run:' .. r[2]), 'held_until')
  end
end
local function conflict()
  release(p.release)
  for _, r in ipairs(p.runs or {}) do redis.call('HDEL', sk(r.s, 'run:' .. r.id), 'held_until') end
  return 'conflict'
end
if not holds(p.checks) then return conflict() end
for _, c in ipairs(p.running or {}) do
  local read = {}
  for _, id in ipairs(c[3]) do read[id] = true end
  for _, id in ipairs(redis.call('SMEMBERS', sk(c[1], 'running:' .. c[2]))) do
    if not read[id] then return conflict() end
  end
end
release(p.release)
put_changes(p.runs)
append_events()
return 'ok'
`,
};
