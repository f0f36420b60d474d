import type { Script } from "./script.js";

/**
 * Extends each lease that is still its run's current, unexpired lease to \`until\` (moving it to
 * \`worker\`); answers the positions (1-based) of the others.
 */
export const EXTEND_LEASES: Script = {
  name: "metronomeExtendLeases",
  body: `
local lost = {}
local now = tonumber(p.now)
for i, l in ipairs(p.leases) do
  local s = redis.call('HGET', gk('run-sched'), l[1])
  local ok = false
  if s then
    local key = sk(s, 'run:' .. l[1])
    local f = redis.call('HMGET', key, 'status', 'attempt', 'lease_token', 'lease_expires_at')
    if f[1] == 'running' and f[2] == l[2] and f[3] == l[3] and tonumber(f[4]) >= now then
      redis.call('HSET', key, 'lease_expires_at', p['until'], 'worker_id', p.worker, 'updated_at', p.now)
      redis.call('HINCRBY', key, 'rev', 1)
      redis.call('ZADD', sk(s, 'running'), p['until'], l[1])
      ok = true
    end
  end
  if not ok then lost[#lost + 1] = i end
end
return lost
`,
};
