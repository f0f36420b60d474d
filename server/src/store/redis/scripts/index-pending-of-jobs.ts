import type { Script } from "./script.js";

/**
 * A part of the migration that builds the per-job index of pending runs
 * (\`{sched:S}:job-pending:<job>\`, lib.ts index_status) over runs written before it existed:
 * indexes up to \`limit\` runs of the scheduler's pending set after the run \`after\` (none: from the
 * first). Where \`after\` left the set meanwhile, it starts at the first run due at its due time
 * \`score\` (runs indexed again are no harm). Answers the last run indexed and its due time, or an
 * empty list when it reached the end. A run that turns pending meanwhile is indexed by its write.
 */
export const INDEX_PENDING_OF_JOBS: Script = {
  name: "metronomeIndexPendingOfJobs",
  body: `
local s = p.scheduler
local pending = sk(s, 'pending')
local start = 0
if p.after ~= '' then
  local rank = redis.call('ZRANK', pending, p.after)
  if rank then start = rank + 1 else start = redis.call('ZCOUNT', pending, '-inf', '(' .. p.score) end
end
local page = redis.call('ZRANGE', pending, start, start + tonumber(p.limit) - 1, 'WITHSCORES')
if #page == 0 then return {} end
for i = 1, #page, 2 do
  local f = redis.call('HMGET', sk(s, 'run:' .. page[i]), 'status', 'job_id')
  if f[1] == 'pending' and f[2] then redis.call('SADD', sk(s, 'job-pending:' .. f[2]), page[i]) end
end
return {page[#page - 1], page[#page]}
`,
};
