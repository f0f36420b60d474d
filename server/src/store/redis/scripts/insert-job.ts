import type { Script } from "./script.js";

/**
 * Inserts jobs, each with its events unless (scheduler, id) exists, in order (of two with the
 * same id the first is inserted): 1 or 0 each; with \`one\`, the one job's 1 or 0 alone (a
 * keyed call's insert: scripts/lib.ts, \`keyed\`, records the key only when it wrote). A job
 * inserted is new (revision 1, a new incarnation); the jobs' indexes (by next run time and by
 * id) and the schedulers holding jobs take them all in one command each.
 */
export const INSERT_JOBS: Script = {
  name: "metronomeInsertJobs",
  body: `
local out = {}
local events = {}
local due = {}
local ids = {}
local spaces = {}
for i, j in ipairs(p.jobs) do
  local f = j.fields
  local s = f.scheduler
  local key = sk(s, 'job:' .. f.id)
  if redis.call('EXISTS', key) == 1 then
    out[i] = 0
  else
    local flat = {'rev', '1', 'inc', tostring(redis.call('INCR', gk('job-incarnations')))}
    for k, v in pairs(f) do flat[#flat + 1] = k; flat[#flat + 1] = v end
    redis.call('HSET', key, unpack(flat))
    local d = due[s]
    if d == nil then d = {}; due[s] = d; ids[s] = {}; spaces[#spaces + 1] = s end
    d[#d + 1] = f.next_run_time or NO_NEXT
    d[#d + 1] = f.id
    local l = ids[s]
    l[#l + 1] = 0
    l[#l + 1] = f.id
    for _, e in ipairs(j.events or {}) do events[#events + 1] = e end
    out[i] = 1
  end
end
for s, d in pairs(due) do in_parts('ZADD', sk(s, 'jobs'), d, 2) end
for s, l in pairs(ids) do in_parts('ZADD', sk(s, 'job-ids'), l, 2) end
in_parts('SADD', gk('spaces'), spaces, 1)
append_events(events)
if p.one ~= nil then return out[1] end
return out
`,
};
