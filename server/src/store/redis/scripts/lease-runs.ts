import type { Script } from "./script.js";

/**
 * Commits a hand-out decided in TypeScript: if every run read is still as read and each job's
 * number of running runs (max_instances was decided on it) is still \`counts\`, writes the runs
 * taken (running under the lease) and those ended at hand-out (skipped, missed), with the events.
 * Two nodes handing out the same run: one commits, the other reads again. Either way the holds
 * of reserve-runs.ts on \`release\` end.
 */
export const LEASE_RUNS: Script = {
  name: "metronomeLeaseRuns",
  body: `
for _, r in ipairs(p.release or {}) do
  redis.call('HDEL', sk(r[1], 'run:' .. r[2]), 'held_until')
end
if not holds(p.checks) then return 'conflict' end
for _, c in ipairs(p.counts or {}) do
  if redis.call('SCARD', sk(c[1], 'running:' .. c[2])) ~= tonumber(c[3]) then return 'conflict' end
end
for _, r in ipairs(p.runs or {}) do put_run(r) end
append_events(p.events)
return 'ok'
`,
};
