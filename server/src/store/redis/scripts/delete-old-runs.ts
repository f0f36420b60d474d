import type { Script } from "./script.js";

/** Retention: deletes up to \`limit\` ended runs fired before \`before\`; answers how many. */
export const DELETE_OLD_RUNS: Script = {
  name: "metronomeDeleteOldRuns",
  body: `
local limit = tonumber(p.limit)
local deleted = 0
for _, s in ipairs(redis.call('SMEMBERS', gk('spaces'))) do
  local offset = 0
  while deleted < limit do
    local ids = redis.call('ZRANGEBYSCORE', sk(s, 'runs'), '-inf', '(' .. p.before, 'LIMIT', offset, 100)
    if #ids == 0 then break end
    for _, id in ipairs(ids) do
      local status = redis.call('HGET', sk(s, 'run:' .. id), 'status')
      if deleted < limit and status ~= 'pending' and status ~= 'running' then
        deleted = deleted + del_run(s, id)
      else
        offset = offset + 1
      end
    end
  end
  if deleted >= limit then break end
end
return deleted
`,
};
