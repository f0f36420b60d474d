import type { Script } from "./script.js";

/**
 * The earliest score above \`min\` (a ZRANGEBYSCORE bound; -inf unless given) and up to \`max\` in
 * the sorted sets \`indexes\` (key suffixes: \`jobs\`, \`pending:<handler>\`) of the schedulers not
 * \`paused\`: when the next job is due, or the next pending run. Answers it, or false when there
 * is none.
 */
export const NEXT_DUE: Script = {
  name: "metronomeNextDue",
  body: `
local first = nil
local min = p.min or '-inf'
for _, s in ipairs(unpaused_spaces(p.paused)) do
  for _, index in ipairs(p.indexes) do
    local found = redis.call('ZRANGEBYSCORE', sk(s, index), min, p.max, 'WITHSCORES', 'LIMIT', 0, 1)
    if #found > 0 and (first == nil or tonumber(found[2]) < tonumber(first)) then first = found[2] end
  end
end
return first or false
`,
};
