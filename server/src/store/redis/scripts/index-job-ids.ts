import type { Script } from "./script.js";

/**
 * A part of the migration that builds a scheduler's index of jobs by id (\`{sched:S}:job-ids\`,
 * every member at score 0: lib.ts put_job) over jobs written before it existed: one ZSCAN step
 * of the scheduler's jobs (\`{sched:S}:jobs\`) from \`cursor\`, about \`limit\` of them, each
 * added to the index. Answers the next cursor ('0': the scan is complete). A scan returns every
 * job that was there from its start to its end; a job added meanwhile is indexed by its write,
 * one removed meanwhile leaves the index with it (del_job), and one read here is there as it is
 * indexed (the script runs alone).
 */
export const INDEX_JOB_IDS: Script = {
  name: "metronomeIndexJobIds",
  body: `
local reply = redis.call('ZSCAN', sk(p.scheduler, 'jobs'), p.cursor, 'COUNT', tonumber(p.limit))
local found = reply[2]
local ids = {}
for i = 1, #found, 2 do
  ids[#ids + 1] = 0
  ids[#ids + 1] = found[i]
end
in_parts('ZADD', sk(p.scheduler, 'job-ids'), ids, 2)
return reply[1]
`,
};
