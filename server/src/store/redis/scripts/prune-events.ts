import type { Script } from "./script.js";

/**
 * Retention: trims the oldest events (at most \`limit\`) while they are older than \`before\`,
 * and records the cursor of the last one trimmed (\`pruned\`). Answers how many it trimmed.
 */
export const PRUNE_EVENTS: Script = {
  name: "metronomePruneEvents",
  body: `
local before = tonumber(p.before)
local entries = redis.call('XRANGE', ek('log'), '-', '+', 'COUNT', tonumber(p.limit))
local upTo = nil
local n = 0
for _, entry in ipairs(entries) do
  local t = nil
  for i = 1, #entry[2], 2 do if entry[2][i] == 't' then t = tonumber(entry[2][i + 1]) end end
  if t == nil or t >= before then break end
  upTo = string.match(entry[1], '^0%-(%d+)$')
  n = n + 1
end
if upTo == nil then return 0 end
redis.call('XTRIM', ek('log'), 'MINID', '0-' .. (tonumber(upTo) + 1))
local pruned = tonumber(redis.call('GET', ek('pruned')) or '0')
if tonumber(upTo) > pruned then redis.call('SET', ek('pruned'), upTo) end
return n
`,
};
