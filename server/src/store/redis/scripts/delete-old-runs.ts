import type { Script } from "./script.js";

/**
 * Retention: deletes up to \`limit\` ended runs fired before \`before\`; answers how many. An
 * entry of \`{sched:S}:runs\` whose run is gone (evicted, lost) is removed with what else is
 * left of the run (lib.ts, del_run) and counts as one: the walk never stays on an entry.
 */
export const DELETE_OLD_RUNS: Script = {
  name: "metronomeDeleteOldRuns",
  body: `
local limit = tonumber(p.limit)
local deleted = 0
for _, s in ipairs(redis.call('SMEMBERS', gk('spaces'))) do
  local runs = sk(s, 'runs')
  local offset = 0
  while deleted < limit do
    local ids = redis.call('ZRANGEBYSCORE', runs, '-inf', '(' .. p.before, 'LIMIT', offset, 100)
    if #ids == 0 then break end
    for _, id in ipairs(ids) do
      if deleted >= limit then break end
      local status = redis.call('HGET', sk(s, 'run:' .. id), 'status')
      if status ~= 'pending' and status ~= 'running' then
        del_run(s, id)
        deleted = deleted + 1
      end
      -- An entry still there is passed (the next page starts after it), one removed is not.
      if redis.call('ZSCORE', runs, id) ~= false then offset = offset + 1 end
    end
  end
  if deleted >= limit then break end
end
return deleted
`,
};
