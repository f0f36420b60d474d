import type { Script } from "./script.js";

/**
 * Gives up to \`limit\` committed events of the inbox their cursors, in commit order, after every
 * cursor given so far: each becomes a stream entry with id 0-<cursor>. Answers how many.
 */
export const SEQUENCE_EVENTS: Script = {
  name: "metronomeSequenceEvents",
  body: `
local entries = redis.call('LRANGE', ek('inbox'), 0, tonumber(p.limit) - 1)
if #entries == 0 then return 0 end
local last = tonumber(redis.call('GET', ek('last')) or '0')
for _, entry in ipairs(entries) do
  local bar = string.find(entry, '|', 1, true)
  last = last + 1
  redis.call('XADD', ek('log'), '0-' .. last, 't', string.sub(entry, 1, bar - 1), 'e', string.sub(entry, bar + 1))
end
redis.call('SET', ek('last'), last)
redis.call('LTRIM', ek('inbox'), #entries, -1)
return #entries
`,
};
