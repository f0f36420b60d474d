import type { Script } from "./script.js";

/** Writes a scheduler changed in TypeScript if it is still as read, with its events. */
export const UPDATE_SCHEDULER: Script = {
  name: "metronomeUpdateScheduler",
  body: `
if not holds(p.checks) then return 'conflict' end
local f = p.fields
local key = sk(f.name, 'scheduler')
put_hash(key, f, hash(key))
if f.paused == '1' then redis.call('SADD', gk('paused'), f.name)
else redis.call('SREM', gk('paused'), f.name) end
append_events()
return 'ok'
`,
};
