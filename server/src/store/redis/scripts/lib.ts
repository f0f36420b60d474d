/**
 * The Lua every script of the Redis store starts with: the key layout (docs/storage.md, "The
 * Redis store") and the writes that keep a record and its indexes together. A script is this
 * prelude and its own body (script.ts); ARGV[1] is always the store's key prefix, ARGV[2] the
 * operation's payload as JSON (every number in it a string: Lua would print large ones in
 * exponent form), ARGV[3] the shard's hash tag on a Redis Cluster (empty on one server: keys.ts),
 * ARGV[4] the operation's events, the inbox's entries (`<time>|<event JSON>`) one per line
 * (db.ts: kept out of the JSON, which would escape every quote of theirs and Lua decode it).
 * KEYS[1] is a key of the shard's slot that only routes the call.
 *
 * Records are hashes of their columns (the SQL stores' column names; a NULL column is an absent
 * field) plus `rev`, a revision every write increments: an operation that decided something in
 * TypeScript from what it read commits only if the revisions it read are still the records'
 * (`holds`), else it reads again (store.ts, `optimistic`).
 */
export const LIB = `
local P = ARGV[1]
local p = cjson.decode(ARGV[2])
local T = ARGV[3] or ''
local NO_NEXT = '9007199254740991'

local function group(inner)
  if T == '' then return P .. '{' .. inner .. '}' end
  return P .. '{' .. T .. '}[' .. inner .. ']'
end
local function sk(s, suffix) return group('sched:' .. s) .. ':' .. suffix end
local function gk(suffix) return group('g') .. ':' .. suffix end
local function ek(suffix) return group('events') .. ':' .. suffix end

local function hash(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local h = {}
  for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
  return h
end

local function put_hash(key, fields, old)
  local rev = 1
  if old ~= nil and old.rev ~= nil then rev = tonumber(old.rev) + 1 end
  redis.call('DEL', key)
  local flat = {'rev', tostring(rev)}
  for k, v in pairs(fields) do
    if k ~= 'rev' then flat[#flat + 1] = k; flat[#flat + 1] = v end
  end
  redis.call('HSET', key, unpack(flat))
  return rev
end

-- Every [key, rev] pair still holds (rev '0': the key must not exist).
local function holds(checks)
  for _, c in ipairs(checks or {}) do
    local rev = redis.call('HGET', c[1], 'rev')
    if rev == false then rev = '0' end
    if rev ~= c[2] then return false end
  end
  return true
end

-- The schedulers that hold jobs or runs, except those listed (the paused ones), in order.
local function unpaused_spaces(paused)
  local skip = {}
  for _, s in ipairs(paused) do skip[s] = true end
  local out = {}
  for _, s in ipairs(redis.call('SMEMBERS', gk('spaces'))) do
    if not skip[s] then out[#out + 1] = s end
  end
  table.sort(out)
  return out
end

-- ---- events: written to the inbox with the change; sequence-events.ts gives them cursors ----

-- Runs a command on key with the arguments of list, in parts that Lua's unpack takes (a
-- multiple of step: a command's arguments go in pairs or alone).
local function in_parts(command, key, list, step)
  local n = #list
  local part = 4000 - 4000 % step
  for i = 1, n, part do
    redis.call(command, key, unpack(list, i, math.min(n, i + part - 1)))
  end
end

-- Pushes inbox entries ('<time>|<event JSON>'): those of list, or without one the operation's
-- (ARGV[4], one a line). Answers how many.
local function append_events(list)
  if list == nil then
    list = {}
    local blob = ARGV[4] or ''
    local at = 1
    while at <= #blob do
      local nl = string.find(blob, '\\n', at, true)
      if nl == nil then nl = #blob + 1 end
      list[#list + 1] = string.sub(blob, at, nl - 1)
      at = nl + 1
    end
  end
  in_parts('RPUSH', ek('inbox'), list, 1)
  return #list
end

-- ---- jobs: a hash per job, and the scheduler's jobs by next run time and by id ----

-- A scheduler's jobs are in two sorted sets: \`jobs\` by next run time (due jobs, listings in
-- that order) and \`job-ids\`, every member at score 0 so in id (byte) order (listings by id:
-- list-jobs.ts). A job enters and leaves both together (put_job, insert-job.ts, del_job); the
-- other writes of \`jobs\` only move a job that is in both to another next run time.

-- A job's \`inc\` names its incarnation: kept by every change, new when a job deleted is added
-- again (its revisions start over), so that a node that knows a job at a revision (cache.ts)
-- does not take the new job for the old.
local function put_job(s, fields)
  local key = sk(s, 'job:' .. fields.id)
  local old = hash(key)
  fields.inc = (old ~= nil and old.inc) or tostring(redis.call('INCR', gk('job-incarnations')))
  put_hash(key, fields, old)
  redis.call('ZADD', sk(s, 'jobs'), fields.next_run_time or NO_NEXT, fields.id)
  redis.call('ZADD', sk(s, 'job-ids'), 0, fields.id)
  redis.call('SADD', gk('spaces'), s)
end

local function del_job(s, id)
  redis.call('DEL', sk(s, 'job:' .. id))
  redis.call('ZREM', sk(s, 'jobs'), id)
  redis.call('ZREM', sk(s, 'job-ids'), id)
end

-- ---- runs: a hash per run and the indexes its columns put it in ----

-- The indexes of a run's status: pending runs by due time (all, and per handler), by misfire
-- expiry and per job (a job's removal); running runs by lease expiry, per job (max_instances)
-- and by deadline.
local function unindex_status(s, id, r)
  if r.status == 'pending' then
    redis.call('ZREM', sk(s, 'pending'), id)
    redis.call('ZREM', sk(s, 'pending:' .. r.handler), id)
    redis.call('ZREM', sk(s, 'expiring'), id)
    redis.call('SREM', sk(s, 'job-pending:' .. r.job_id), id)
  elseif r.status == 'running' then
    redis.call('ZREM', sk(s, 'running'), id)
    redis.call('SREM', sk(s, 'running:' .. r.job_id), id)
    redis.call('ZREM', sk(s, 'deadlines'), id)
  end
end

local function index_status(s, id, r)
  if r.status == 'pending' then
    redis.call('ZADD', sk(s, 'pending'), r.due_at, id)
    redis.call('ZADD', sk(s, 'pending:' .. r.handler), r.due_at, id)
    if r.expires_at ~= nil then redis.call('ZADD', sk(s, 'expiring'), r.expires_at, id) end
    redis.call('SADD', sk(s, 'job-pending:' .. r.job_id), id)
  elseif r.status == 'running' then
    redis.call('ZADD', sk(s, 'running'), r.lease_expires_at, id)
    redis.call('SADD', sk(s, 'running:' .. r.job_id), id)
    if r.deadline_at ~= nil then redis.call('ZADD', sk(s, 'deadlines'), r.deadline_at, id) end
  end
end

-- The indexes of a run's identity (scheduler, job, fire time and kind: never changed).
local function unindex_run(s, id, r)
  redis.call('ZREM', sk(s, 'runs'), id)
  redis.call('ZREM', sk(s, 'job-runs:' .. r.job_id), id)
  local fired = sk(s, 'fired:' .. r.job_id)
  local unique = r.scheduled_time .. '/' .. r.manual
  if redis.call('HGET', fired, unique) == id then redis.call('HDEL', fired, unique) end
  unindex_status(s, id, r)
end

-- Writes a run (all its columns), keeping its indexes: a new run is indexed by its identity
-- and status, a changed one moves between the indexes of its old and new status (the columns
-- of its identity never change). Only what the indexes need is read of the old run.
local function put_run(fields)
  local s = fields.scheduler
  local id = fields.id
  local key = sk(s, 'run:' .. id)
  local f = redis.call('HMGET', key, 'rev', 'status', 'handler', 'job_id')
  local old = nil
  if f[2] then
    old = {rev = f[1] or nil, status = f[2], handler = f[3], job_id = f[4]}
    unindex_status(s, id, old)
  else
    redis.call('ZADD', sk(s, 'runs'), fields.scheduled_time, id)
    redis.call('ZADD', sk(s, 'job-runs:' .. fields.job_id), fields.scheduled_time, id)
    redis.call('HSET', sk(s, 'fired:' .. fields.job_id), fields.scheduled_time .. '/' .. fields.manual, id)
    redis.call('HSET', gk('run-sched'), id, s)
    redis.call('SADD', gk('spaces'), s)
  end
  put_hash(key, fields, old)
  index_status(s, id, fields)
end

-- Writes runs whose records the operation read and checked (holds), as changes to them, each
-- run at most once (codec.ts, runChange): r.s, r.id; r.set, the fields that changed, rev
-- included, as name, value pairs; r.del, the fields to remove; r.from, the status read (absent:
-- a new run, then r.st and r.m, its fire time and kind, name it); r.to, its status; r.h and
-- r.j, its handler and job; r.a and r.b, the scores its status is indexed by (pending: due and
-- misfire deadline, running: lease expiry and timeout). The indexes of all of them are changed
-- together, one command per index (its removals first), instead of a few per run.
local function put_changes(list)
  local zrem, srem, zadd, sadd, hset = {}, {}, {}, {}, {}
  local function add(t, k, a, b)
    local l = t[k]
    if l == nil then l = {}; t[k] = l end
    l[#l + 1] = a
    if b ~= nil then l[#l + 1] = b end
  end
  for _, r in ipairs(list or {}) do
    local s, id = r.s, r.id
    if r.from == nil then
      add(zadd, sk(s, 'runs'), r.st, id)
      add(zadd, sk(s, 'job-runs:' .. r.j), r.st, id)
      add(hset, sk(s, 'fired:' .. r.j), r.st .. '/' .. r.m, id)
      add(hset, gk('run-sched'), id, s)
      add(sadd, gk('spaces'), s)
    elseif r.from == 'pending' then
      add(zrem, sk(s, 'pending'), id)
      add(zrem, sk(s, 'pending:' .. r.h), id)
      add(zrem, sk(s, 'expiring'), id)
      add(srem, sk(s, 'job-pending:' .. r.j), id)
    elseif r.from == 'running' then
      add(zrem, sk(s, 'running'), id)
      add(srem, sk(s, 'running:' .. r.j), id)
      add(zrem, sk(s, 'deadlines'), id)
    end
    local key = sk(s, 'run:' .. id)
    redis.call('HSET', key, unpack(r.set))
    if r.del ~= nil and #r.del > 0 then redis.call('HDEL', key, unpack(r.del)) end
    if r.to == 'pending' then
      add(zadd, sk(s, 'pending'), r.a, id)
      add(zadd, sk(s, 'pending:' .. r.h), r.a, id)
      if r.b ~= nil then add(zadd, sk(s, 'expiring'), r.b, id) end
      add(sadd, sk(s, 'job-pending:' .. r.j), id)
    elseif r.to == 'running' then
      add(zadd, sk(s, 'running'), r.a, id)
      add(sadd, sk(s, 'running:' .. r.j), id)
      if r.b ~= nil then add(zadd, sk(s, 'deadlines'), r.b, id) end
    end
  end
  for k, l in pairs(zrem) do in_parts('ZREM', k, l, 1) end
  for k, l in pairs(srem) do in_parts('SREM', k, l, 1) end
  for k, l in pairs(zadd) do in_parts('ZADD', k, l, 2) end
  for k, l in pairs(sadd) do in_parts('SADD', k, l, 1) end
  for k, l in pairs(hset) do in_parts('HSET', k, l, 2) end
end

-- Whether a run of the same job, fire time and kind exists (the unique key).
local function run_exists(fields)
  return redis.call('HEXISTS', sk(fields.scheduler, 'fired:' .. fields.job_id),
    fields.scheduled_time .. '/' .. fields.manual) == 1
end

-- What is left of a run whose hash is gone (evicted under maxmemory, lost) or holds no run
-- (old: a hold's lone field, written on an entry whose run was gone): its entries in the
-- scheduler's indexes and in its job's (the job named by the caller, \`job\`, or by the field),
-- its run id's, and the hash. The job's entries of a run met with neither (retention, which
-- walks the scheduler's runs, does not know the job) stay: every read of them skips a missing
-- run (ListRuns, a job's prepared runs, RemoveJob's pending ones).
local function del_remains(s, id, job, old)
  local at = redis.call('ZSCORE', sk(s, 'runs'), id)
  for _, index in ipairs({'runs', 'pending', 'expiring', 'running', 'deadlines'}) do
    redis.call('ZREM', sk(s, index), id)
  end
  if old ~= nil and old.handler ~= nil then redis.call('ZREM', sk(s, 'pending:' .. old.handler), id) end
  if job == nil and old ~= nil then job = old.job_id end
  if job ~= nil then
    at = at or redis.call('ZSCORE', sk(s, 'job-runs:' .. job), id)
    redis.call('ZREM', sk(s, 'job-runs:' .. job), id)
    redis.call('SREM', sk(s, 'running:' .. job), id)
    redis.call('SREM', sk(s, 'job-pending:' .. job), id)
    local fired = sk(s, 'fired:' .. job)
    if at then
      for _, manual in ipairs({'0', '1'}) do
        local unique = at .. '/' .. manual
        if redis.call('HGET', fired, unique) == id then redis.call('HDEL', fired, unique) end
      end
    end
  end
  if redis.call('HGET', gk('run-sched'), id) == s then redis.call('HDEL', gk('run-sched'), id) end
  redis.call('DEL', sk(s, 'run:' .. id))
end

-- Deletes a run and its index entries; answers 1, or 0 when there was no run, only entries
-- left of one (del_remains: \`job\`, when the caller knows it, names its job), which go too. So
-- a loop over an index that deletes what it finds always moves on.
local function del_run(s, id, job)
  local key = sk(s, 'run:' .. id)
  local old = hash(key)
  if old == nil or old.status == nil or old.job_id == nil or old.scheduled_time == nil then
    del_remains(s, id, job, old)
    return 0
  end
  unindex_run(s, id, old)
  redis.call('DEL', key)
  redis.call('HDEL', gk('run-sched'), id)
  return 1
end

-- Runs prepared ahead for a job: pending first attempts of scheduled fire times not due yet,
-- their due time (the nominal time plus jitter) after now, whatever their nominal time
-- (domain/prepared-runs.ts). Found among the job's pending runs (\`indexed\`: its index
-- \`job-pending:<job>\` is complete, pending-of-jobs.ts) or, in a store not migrated yet, among
-- all its runs.
local function prepared_runs(s, job, now, indexed)
  local ids
  if indexed then
    ids = redis.call('SMEMBERS', sk(s, 'job-pending:' .. job))
  else
    ids = redis.call('ZRANGE', sk(s, 'job-runs:' .. job), 0, -1)
  end
  local out = {}
  for _, id in ipairs(ids) do
    local f = redis.call('HMGET', sk(s, 'run:' .. id), 'status', 'manual', 'attempt', 'scheduled_time', 'due_at')
    local due = tonumber(f[5])
    if f[1] == 'pending' and f[2] == '0' and f[3] == '1' and due ~= nil and due > tonumber(now) then
      out[#out + 1] = {id, f[4]}
    end
  end
  return out
end

-- ---- idempotency keys: a keyed call's change writes the key's record as it commits ----

-- Whether another call, unexpired, holds the key's record (p.idem: redis/idempotency.ts).
local function idem_held(c)
  local f = redis.call('HMGET', c.k, 'call_id', 'expires_at')
  if f[1] == false or f[1] == c.fields.call_id then return false end
  return tonumber(f[2]) > tonumber(c.now)
end

-- Makes the key's record this call's (kept as it is when it is already).
local function idem_claim(c)
  if redis.call('HGET', c.k, 'call_id') == c.fields.call_id then return end
  redis.call('DEL', c.k)
  local flat = {}
  for k, v in pairs(c.fields) do flat[#flat + 1] = k; flat[#flat + 1] = v end
  redis.call('HSET', c.k, unpack(flat))
  redis.call('ZADD', gk('idem-expiry'), c.fields.expires_at, c.k)
end
`;

/**
 * A script's body run for a keyed call (payload field `idem`, db.ts): refused with 'idem-taken',
 * writing nothing, when another call holds the key; otherwise run, and when it wrote something
 * (any answer but 'conflict', 0 or 'taken', db.ts) the key's record is written with it, in the
 * same script, so the change never commits without its key. Without `idem` the body runs alone.
 */
export function keyed(body: string): string {
  return `
local function operation()
${body}
end
if p.idem ~= nil and idem_held(p.idem) then return 'idem-taken' end
local reply = operation()
if p.idem ~= nil and reply ~= 'conflict' and reply ~= 0 and reply ~= 'taken' then
  idem_claim(p.idem)
end
return reply
`;
}
