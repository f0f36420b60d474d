import type { Script } from "./script.js";

/**
 * A claim's first step, as `SKIP LOCKED` is on SQL: the earliest jobs due by \`horizon\` in the
 * unpaused schedulers that no other claim holds and no change fences (fences.ts), up to \`limit\`, each then held for \`holdMs\` by Redis's
 * clock (a \`held_until\` field, which leaves the job's revision alone). Claims of several nodes
 * so plan different jobs instead of all planning the same ones; the hold is only that: the
 * claim's commit (claim-due-jobs.ts) still checks every job's revision and releases the holds,
 * and the hold of a node that died lapses by itself. Answers [scheduler, id, revision,
 * incarnation] each (a node that wrote a job last knows it at that revision: cache.ts), and the
 * paused schedulers.
 */
export const RESERVE_JOBS: Script = {
  name: "metronomeReserveJobs",
  body: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(p.limit)
local paused = redis.call('SMEMBERS', gk('paused'))
local found = {}
for _, s in ipairs(unpaused_spaces(paused)) do
  local offset, taken = 0, 0
  if redis.call('EXISTS', sk(s, 'fence')) == 1 then taken = limit end
  while taken < limit do
    local page = redis.call('ZRANGEBYSCORE', sk(s, 'jobs'), '-inf', p.horizon,
      'WITHSCORES', 'LIMIT', offset, 100)
    if #page == 0 then break end
    local gone = 0
    for i = 1, #page, 2 do
      local f = redis.call('HMGET', sk(s, 'job:' .. page[i]), 'held_until', 'rev', 'inc')
      local held = f[1]
      if f[2] == false then
        -- A job whose hash is gone (evicted, lost): its entry goes, not held as a new hash.
        del_job(s, page[i])
        gone = gone + 1
      elseif taken < limit and (held == false or tonumber(held) <= now)
        and redis.call('EXISTS', sk(s, 'fence:' .. page[i])) == 0 then
        found[#found + 1] = {s, page[i], tonumber(page[i + 1]), f[2], f[3] or ''}
        taken = taken + 1
      end
    end
    offset = offset + #page / 2 - gone
  end
end
table.sort(found, function(a, b) return a[3] < b[3] end)
local out = {}
for i = 1, math.min(limit, #found) do
  local f = found[i]
  redis.call('HSET', sk(f[1], 'job:' .. f[2]), 'held_until', tostring(now + tonumber(p.holdMs)))
  out[#out + 1] = {f[1], f[2], f[4], f[5]}
end
return {out, paused}
`,
};
