import type { Script } from "./script.js";

/** Records a worker session until \`expires\`, with its events. */
export const REGISTER_SESSION: Script = {
  name: "metronomeRegisterSession",
  body: `
redis.call('HSET', gk('sessions'), p.id, p.record)
redis.call('ZADD', gk('session-expiry'), p.expires, p.id)
append_events()
return 1
`,
};

/** Removes a worker session's record, with its events. */
export const UNREGISTER_SESSION: Script = {
  name: "metronomeUnregisterSession",
  body: `
redis.call('HDEL', gk('sessions'), p.id)
redis.call('ZREM', gk('session-expiry'), p.id)
append_events()
return 1
`,
};

/** Pushes the expiry of the records of these live sessions forward. */
export const REFRESH_SESSIONS: Script = {
  name: "metronomeRefreshSessions",
  body: `
for _, id in ipairs(p.ids) do
  if redis.call('HEXISTS', gk('sessions'), id) == 1 then
    redis.call('ZADD', gk('session-expiry'), p.expires, id)
  end
end
return 1
`,
};
