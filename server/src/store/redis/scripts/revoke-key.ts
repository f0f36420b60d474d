import type { Script } from "./script.js";

/** Writes an API key revoked in TypeScript if it is still as read, with its events. */
export const REVOKE_KEY: Script = {
  name: "metronomeRevokeKey",
  body: `
if not holds(p.checks) then return 'conflict' end
local key = gk('api-key:' .. p.fields.id)
put_hash(key, p.fields, hash(key))
append_events()
return 'ok'
`,
};
