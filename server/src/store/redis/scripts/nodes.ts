import type { Script } from "./script.js";

/** Writes (or replaces) a node's record until \`expires\`. */
export const RECORD_NODE: Script = {
  name: "metronomeRecordNode",
  body: `
redis.call('HSET', gk('nodes'), p.id, p.record)
redis.call('ZADD', gk('node-expiry'), p.expires, p.id)
return 1
`,
};

/** Deletes a node's record (it stopped). */
export const REMOVE_NODE: Script = {
  name: "metronomeRemoveNode",
  body: `
redis.call('HDEL', gk('nodes'), p.id)
redis.call('ZREM', gk('node-expiry'), p.id)
return 1
`,
};
