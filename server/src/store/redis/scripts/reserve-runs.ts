import type { Script } from "./script.js";

/**
 * The hand-out's first step, as `SKIP LOCKED` is on SQL: for each handler (\`handlers\`: [handler,
 * limit, due after (a ZRANGEBYSCORE min), due by, 'busy' or nothing]), the earliest pending runs
 * due in that range in the schedulers not \`paused\` that no other hand-out holds and no change of
 * their job or scheduler fences (fences.ts), up to its limit — of a 'busy' handler (no free
 * slot: its runs are read for max_instances only) only runs whose job has a run running — each
 * then held until \`until\` (a \`held_until\` field, which leaves the run's revision alone).
 * Concurrent hand-outs of several nodes so read different runs instead of all racing for the
 * first ones; the hold is only that: the hand-out's commit (lease-runs.ts) still checks every
 * run's revision, releases the holds, and a hold of a node that died lapses by itself.
 * Answers the runs held, [scheduler, run id, revision] each (a node that wrote a run last knows
 * it at that revision: cache.ts), and the running runs of their jobs as they are now, [scheduler,
 * job, run ids] each (max_instances is decided on them; lease-runs.ts checks them).
 */
export const RESERVE_RUNS: Script = {
  name: "metronomeReserveRuns",
  body: `
local now = tonumber(p.now)
local schedulers = unpaused_spaces(p.paused)
local out = {}
local running = {}
local seen = {}
for _, h in ipairs(p.handlers) do
  local handler, limit, after, dueBy, busy = h[1], tonumber(h[2]), h[3], h[4], h[5] == 'busy'
  local found = {}
  for _, s in ipairs(schedulers) do
    local offset, taken = 0, 0
    if redis.call('EXISTS', sk(s, 'fence')) == 1 then taken = limit end
    while taken < limit do
      local page = redis.call('ZRANGEBYSCORE', sk(s, 'pending:' .. handler), after, dueBy,
        'WITHSCORES', 'LIMIT', offset, 100)
      if #page == 0 then break end
      local gone = 0
      for i = 1, #page, 2 do
        local f = redis.call('HMGET', sk(s, 'run:' .. page[i]), 'held_until', 'job_id', 'rev')
        local held = f[1]
        if f[3] == false then
          -- A run whose hash is gone (evicted, lost): its entries go, not held as a new hash.
          del_run(s, page[i])
          redis.call('ZREM', sk(s, 'pending:' .. handler), page[i])
          gone = gone + 1
        elseif taken < limit and (held == false or tonumber(held) <= now) and (f[2] == false
          or redis.call('EXISTS', sk(s, 'fence:' .. f[2])) == 0) and (not busy
          or (f[2] ~= false and redis.call('SCARD', sk(s, 'running:' .. f[2])) > 0)) then
          found[#found + 1] = {s, page[i], tonumber(page[i + 1]), f[3], f[2]}
          taken = taken + 1
        end
      end
      offset = offset + #page / 2 - gone
    end
  end
  table.sort(found, function(a, b) return a[3] < b[3] end)
  for i = 1, math.min(limit, #found) do
    local f = found[i]
    redis.call('HSET', sk(f[1], 'run:' .. f[2]), 'held_until', p['until'])
    out[#out + 1] = {f[1], f[2], f[4]}
    if f[5] and not seen[f[1] .. '/' .. f[5]] then
      seen[f[1] .. '/' .. f[5]] = true
      running[#running + 1] = {f[1], f[5], redis.call('SMEMBERS', sk(f[1], 'running:' .. f[5]))}
    end
  end
end
return {out, running}
`,
};
