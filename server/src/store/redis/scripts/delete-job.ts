import type { Script } from "./script.js";

/**
 * Deletes a job if it and its pending runs are still as read: the runs prepared ahead for it are
 * withdrawn, the other pending runs written cancelled (decided in TypeScript), with the events.
 * With \`pending\` (the ids of the job's runs read pending: the delete cancels them), a run of the
 * job pending now and not among them (one that turned pending meanwhile: a retry put back by the
 * results path or the sweep) is a conflict: the delete reads again rather than leave it pending
 * for a job that no longer exists. With \`indexed\` the job's pending runs are its index's
 * (\`job-pending:<job>\`, lib.ts index_status); without (a store not migrated yet: its runs
 * from before the index are not in it) they are found among all its runs.
 */
export const DELETE_JOB: Script = {
  name: "metronomeDeleteJob",
  body: `
if not holds(p.checks) then return 'conflict' end
if p.pending ~= nil then
  local read = {}
  for _, id in ipairs(p.pending) do read[id] = true end
  local ids
  if p.indexed ~= nil then
    ids = redis.call('SMEMBERS', sk(p.scheduler, 'job-pending:' .. p.id))
  else
    ids = redis.call('ZRANGE', sk(p.scheduler, 'job-runs:' .. p.id), 0, -1)
  end
  for _, id in ipairs(ids) do
    if not read[id] and redis.call('HGET', sk(p.scheduler, 'run:' .. id), 'status') == 'pending' then
      return 'conflict'
    end
  end
end
del_job(p.scheduler, p.id)
for _, id in ipairs(p.withdrawn or {}) do del_run(p.scheduler, id, p.id) end
for _, r in ipairs(p.runs or {}) do put_run(r) end
append_events()
return 'ok'
`,
};
