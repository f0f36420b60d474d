import type { Script } from "./script.js";

/**
 * Creates a manual run made in TypeScript from the job as read: 'conflict' when the job changed,
 * 'taken' when a run of the same job and time exists (the caller shifts the time), else 'ok'.
 * The job's revision moves, as a row lock would order it with changes of the job.
 */
export const CREATE_MANUAL_RUN: Script = {
  name: "metronomeCreateManualRun",
  body: `
if not holds(p.checks) then return 'conflict' end
if run_exists(p.run) then return 'taken' end
put_run(p.run)
redis.call('HINCRBY', sk(p.run.scheduler, 'job:' .. p.run.job_id), 'rev', 1)
return 'ok'
`,
};
