import type { Script } from "./script.js";

/**
 * A scheduler paused since \`since\` is resumed: deletes its runs prepared for fire times from
 * then on (pending first attempts of scheduled fire times due from then on: the \`pending\`
 * index's score, the due time, is the nominal time plus jitter) and rewinds each unpaused job's
 * next run time to the first of them (by nominal time); such a job keeps nothing of them (no
 * first fire time prepared, and a trigger that ended has its last fire time to claim again).
 * Answers how many runs it deleted.
 */
export const WITHDRAW_PREPARED_RUNS: Script = {
  name: "metronomeWithdrawPreparedRuns",
  body: `
local s = p.scheduler
local since = tonumber(p.since)
local first = {}
local doomed = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', sk(s, 'pending'), since, '+inf')) do
  local f = redis.call('HMGET', sk(s, 'run:' .. id), 'manual', 'attempt', 'scheduled_time', 'job_id')
  if f[1] == '0' and f[2] == '1' then
    doomed[#doomed + 1] = id
    if first[f[4]] == nil or tonumber(f[3]) < tonumber(first[f[4]]) then first[f[4]] = f[3] end
  end
end
for job, t in pairs(first) do
  local key = sk(s, 'job:' .. job)
  local f = redis.call('HMGET', key, 'paused', 'next_run_time')
  if f[1] == '0' then
    if f[2] == false or tonumber(t) < tonumber(f[2]) then
      redis.call('HSET', key, 'next_run_time', t)
      redis.call('ZADD', sk(s, 'jobs'), t, job)
    end
    redis.call('HDEL', key, 'prepared_first')
    redis.call('HSET', key, 'last_fire_prepared', '0')
    redis.call('HINCRBY', key, 'rev', 1)
  end
end
for _, id in ipairs(doomed) do del_run(s, id) end
return #doomed
`,
};
