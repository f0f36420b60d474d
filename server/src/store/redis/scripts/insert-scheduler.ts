import type { Script } from "./script.js";

/** Inserts a scheduler unless one of that name exists: 1, or 0. */
export const INSERT_SCHEDULER: Script = {
  name: "metronomeInsertScheduler",
  body: `
local f = p.fields
local key = sk(f.name, 'scheduler')
if redis.call('EXISTS', key) == 1 then return 0 end
put_hash(key, f, nil)
redis.call('ZADD', gk('scheduler-names'), 0, f.name)
if f.paused == '1' then redis.call('SADD', gk('paused'), f.name) end
return 1
`,
};
