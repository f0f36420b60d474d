import type { Script } from "./script.js";

/**
 * A part of a listing in next-run-time order (list-jobs.ts), read only: up to \`limit\` of a
 * scheduler's jobs (\`{sched:S}:jobs\`, by next run time, equal ones in the byte order of their
 * ids as Redis keeps them) from a position, as [id, score, …]. Without \`score\`, from the first;
 * with it, after the jobs of earlier scores, and then: with \`past\` after those of that score
 * too, with \`id\` after those of that score whose id is up to \`id\` (byte order), with neither
 * from the first of that score. The jobs of one score are passed by halving their ranks, so the
 * cost is the part's whatever the number of jobs before it, however many share that score.
 */
export const LIST_JOBS: Script = {
  name: "metronomeListJobs",
  body: `
-- Whether a sorts before b byte by byte (Lua's < on strings follows the locale's collation).
local function before(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local key = sk(p.scheduler, 'jobs')
local start = 0
if p.score ~= nil then
  if p.past ~= nil then
    start = redis.call('ZCOUNT', key, '-inf', p.score)
  else
    start = redis.call('ZCOUNT', key, '-inf', '(' .. p.score)
    if p.id ~= nil then
      local stop = start + redis.call('ZCOUNT', key, p.score, p.score)
      while start < stop do
        local mid = math.floor((start + stop) / 2)
        if before(p.id, redis.call('ZRANGE', key, mid, mid)[1]) then stop = mid else start = mid + 1 end
      end
    end
  end
end
return redis.call('ZRANGE', key, start, start + tonumber(p.limit) - 1, 'WITHSCORES')
`,
};
