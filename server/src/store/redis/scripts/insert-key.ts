import type { Script } from "./script.js";

/** Inserts an API key unless one with its id exists, with its events: 1, or 0. */
export const INSERT_KEY: Script = {
  name: "metronomeInsertKey",
  body: `
local f = p.fields
local key = gk('api-key:' .. f.id)
if redis.call('EXISTS', key) == 1 then return 0 end
put_hash(key, f, nil)
redis.call('ZADD', gk('api-key-ids'), tonumber(f.created_at), f.id)
append_events()
return 1
`,
};
