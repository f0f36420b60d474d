import type { Script } from "./script.js";

/*
 * Events on a Redis Cluster store (cluster.ts): each shard's changes push their events onto the
 * shard's own inbox in the same script, and the home shard's log gives them cursors. A move
 * crosses slots, so it is three steps that each may be repeated: read the head of a shard's
 * inbox with the number of its entries moved before (`{T}[events]:trimmed`, so the k-th entry
 * ever pushed is number k), append to the log those the home has not taken from that shard yet
 * (`{H}[events]:moved`, per shard), and trim the inbox up to them. A node that dies between the
 * steps leaves what the next move finishes: no event is logged twice or lost.
 */

/** On a shard: [entries moved out before, the first `limit` entries of its inbox]. */
export const PEEK_INBOX: Script = {
  name: "metronomePeekInbox",
  body: `
local trimmed = redis.call('GET', ek('trimmed')) or '0'
return {trimmed, redis.call('LRANGE', ek('inbox'), 0, tonumber(p.limit) - 1)}
`,
};

/** On a shard: drops its inbox's entries up to number \`upTo\` (moved to the log). */
export const TRIM_INBOX: Script = {
  name: "metronomeTrimInbox",
  body: `
local trimmed = tonumber(redis.call('GET', ek('trimmed')) or '0')
local n = tonumber(p.upTo) - trimmed
if n <= 0 then return 0 end
redis.call('LTRIM', ek('inbox'), n, -1)
redis.call('SET', ek('trimmed'), p.upTo)
return n
`,
};

/**
 * On the home shard: appends shard \`shard\`'s inbox entries numbered \`first\`, \`first\` + 1, …
 * to the log with the next cursors, skipping those taken before. Answers how many it appended.
 */
export const MOVE_EVENTS: Script = {
  name: "metronomeMoveEvents",
  body: `
local moved = tonumber(redis.call('HGET', ek('moved'), p.shard) or '0')
local first = tonumber(p.first)
local last = tonumber(redis.call('GET', ek('last')) or '0')
local n = 0
for i, entry in ipairs(p.entries) do
  if first + i - 1 > moved then
    local bar = string.find(entry, '|', 1, true)
    last = last + 1
    redis.call('XADD', ek('log'), '0-' .. last, 't', string.sub(entry, 1, bar - 1), 'e', string.sub(entry, bar + 1))
    n = n + 1
  end
end
if n == 0 then return 0 end
redis.call('SET', ek('last'), last)
redis.call('HSET', ek('moved'), p.shard, first + #p.entries - 1)
return n
`,
};
