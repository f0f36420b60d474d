import type { Script } from "./script.js";

/*
 * Idempotency keys on Redis (redis/idempotency.ts): a key's record is a hash (the SQL stores'
 * `idempotency_keys` columns as fields) at a key of its own, and `{g}:idem-expiry` orders the
 * records by expiry for retention. A change's script writes the record as it commits (lib.ts,
 * `keyed`); these scripts add the answer afterwards and delete expired records.
 */

/**
 * Records a call's answer: on the record its change wrote, or as a new record when it changed
 * nothing, or over another call's expired record. Answers 'ok', or the record of the other call
 * that holds the key (a flat field list).
 */
export const RECORD_ANSWER: Script = {
  name: "metronomeRecordAnswer",
  body: `
local f = redis.call('HMGET', p.k, 'call_id', 'expires_at')
if f[1] == p.fields.call_id then
  redis.call('HSET', p.k, 'answer_code', p.fields.answer_code, 'answer', p.fields.answer)
  return 'ok'
end
if f[1] == false or tonumber(f[2]) <= tonumber(p.now) then
  redis.call('DEL', p.k)
  local flat = {}
  for k, v in pairs(p.fields) do flat[#flat + 1] = k; flat[#flat + 1] = v end
  redis.call('HSET', p.k, unpack(flat))
  redis.call('ZADD', gk('idem-expiry'), p.fields.expires_at, p.k)
  return 'ok'
end
return redis.call('HGETALL', p.k)
`,
};

/** Retention: deletes up to \`limit\` records expired by \`now\`; answers how many. */
export const DELETE_EXPIRED_KEYS: Script = {
  name: "metronomeDeleteExpiredKeys",
  body: `
local keys = redis.call('ZRANGEBYSCORE', gk('idem-expiry'), '-inf', p.now, 'LIMIT', 0, tonumber(p.limit))
local n = 0
for _, k in ipairs(keys) do
  local expires = redis.call('HGET', k, 'expires_at')
  if expires == false or tonumber(expires) <= tonumber(p.now) then
    n = n + redis.call('DEL', k)
    redis.call('ZREM', gk('idem-expiry'), k)
  end
end
return n
`,
};
