import type { Script } from "./script.js";

/** Deletes each fence key (fences.ts) that still holds \`token\`: one that lapsed and was raised again by another operation stays. */
export const DROP_FENCES: Script = {
  name: "metronomeDropFences",
  body: `
local n = 0
for _, k in ipairs(p.keys) do
  if redis.call('GET', k) == p.token then
    redis.call('DEL', k)
    n = n + 1
  end
end
return n
`,
};
