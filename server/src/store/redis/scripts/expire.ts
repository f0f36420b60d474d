import type { Script } from "./script.js";

/**
 * Deletes the records of a registry (\`registry\`: 'sessions' or 'nodes') that expired before
 * \`before\`; answers how many.
 */
export const DELETE_EXPIRED: Script = {
  name: "metronomeDeleteExpired",
  body: `
local expiry = gk(p.registry == 'nodes' and 'node-expiry' or 'session-expiry')
local records = gk(p.registry == 'nodes' and 'nodes' or 'sessions')
local ids = redis.call('ZRANGEBYSCORE', expiry, '-inf', '(' .. p.before)
for _, id in ipairs(ids) do
  redis.call('HDEL', records, id)
  redis.call('ZREM', expiry, id)
end
return #ids
`,
};
