/**
 * One job: its trigger in words, its next fire times (PreviewTrigger), its settings, its run
 * history, and the actions pause, resume, run now and remove. An action the API refuses (a
 * missing token, a removed job) shows the API's error.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { toJsonString } from "@bufbuild/protobuf";
import type { Job } from "../../../src/gen/metronome/v1/job_pb.js";
import { TriggerSchema } from "../../../src/gen/metronome/v1/trigger_pb.js";
import { jobs, schedulers, triggers } from "../api.js";
import { ErrorBox } from "../components/ErrorBox.js";
import { jobChanged } from "../job-list.js";
import { RunHistory } from "../components/RunHistory.js";
import { durationText, when } from "../format.js";
import { triggerInWords } from "../trigger-words.js";

export function JobPage() {
  const { scheduler = "default", jobId = "" } = useParams();
  const job = useQuery({
    queryKey: ["job", scheduler, jobId],
    queryFn: () => jobs.getJob({ scheduler, jobId }),
    refetchInterval: 5000,
  });
  const data = job.data?.job;
  return (
    <section>
      <p className="crumbs">
        <Link to={`/?scheduler=${encodeURIComponent(scheduler)}`}>{scheduler}</Link> /
      </p>
      <h1>
        {jobId} {data?.paused ? <span className="paused">paused</span> : null}
      </h1>
      <ErrorBox error={job.error} />
      {data ? <JobDetails job={data} /> : null}
      <h2>Runs</h2>
      <RunHistory scheduler={scheduler} jobId={jobId} />
    </section>
  );
}

function JobDetails({ job }: { readonly job: Job }) {
  return (
    <>
      <Actions job={job} />
      <dl className="facts">
        <dt>Trigger</dt>
        <dd data-testid="trigger-words">{triggerInWords(job.trigger)}</dd>
        <dt>Handler</dt>
        <dd>
          <code>{job.handler}</code>
        </dd>
        {job.name !== "" && job.name !== job.id && job.name !== job.handler ? (
          <>
            <dt>Name</dt>
            <dd>{job.name}</dd>
          </>
        ) : null}
        <dt>Next run</dt>
        <dd>{job.paused ? "— (paused)" : when(job.nextRunTime)}</dd>
        <dt>Arguments</dt>
        <dd>
          <code>{job.argsJson || "[]"}</code> <code>{job.kwargsJson || "{}"}</code>
        </dd>
        <dt>Settings</dt>
        <dd>
          coalesce {job.coalesce === undefined ? "(scheduler default)" : String(job.coalesce)}, max
          instances {job.maxInstances ?? "(scheduler default)"}, timeout{" "}
          {job.timeout ? durationText(job.timeout) : "none"}, retries{" "}
          {job.retryPolicy ? String(job.retryPolicy.maxAttempts - 1) : "none"}
        </dd>
        <dt>Updated</dt>
        <dd>
          {when(job.updatedAt)} (version {job.version.toString()})
          {job.modifiedBy !== "" ? (
            <>
              {" "}
              by <code data-testid="modified-by">{job.modifiedBy}</code>
            </>
          ) : null}
        </dd>
      </dl>
      <NextFireTimes job={job} />
      <details>
        <summary>Trigger as stored</summary>
        <pre>
          {job.trigger ? toJsonString(TriggerSchema, job.trigger, { prettySpaces: 2 }) : "none"}
        </pre>
      </details>
    </>
  );
}

function NextFireTimes({ job }: { readonly job: Job }) {
  const scheduler = useQuery({
    queryKey: ["scheduler", job.scheduler],
    queryFn: () => schedulers.getScheduler({ name: job.scheduler }),
  });
  const timezone = scheduler.data?.scheduler?.timezone ?? "";
  const preview = useQuery({
    queryKey: ["preview", job.scheduler, job.id, job.version.toString(), timezone],
    queryFn: () => triggers.previewTrigger({ trigger: job.trigger, timezone, count: 5 }),
    enabled: job.trigger !== undefined && scheduler.isFetched,
  });
  return (
    <>
      <h2>Next fire times</h2>
      <ErrorBox error={preview.error} />
      {preview.data ? (
        preview.data.fireTimes.length === 0 ? (
          <p className="muted">The trigger fires no more.</p>
        ) : (
          <ol className="fire-times" data-testid="fire-times">
            {preview.data.fireTimes.map((t) => (
              <li key={`${t.seconds.toString()}.${String(t.nanos)}`}>{when(t)}</li>
            ))}
          </ol>
        )
      ) : null}
    </>
  );
}

function Actions({ job }: { readonly job: Job }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  const key = { scheduler: job.scheduler, jobId: job.id };
  const refresh = async () => {
    await queryClient.invalidateQueries({ queryKey: ["job", job.scheduler, job.id] });
    await queryClient.invalidateQueries({ queryKey: ["runs", job.scheduler, job.id] });
    await queryClient.invalidateQueries({ queryKey: ["jobs"] });
  };
  // The Jobs page shows the change at once, on whichever of its pages the job is.
  const pause = useMutation({
    mutationFn: () => jobs.pauseJob(key),
    onSuccess: (res) => {
      if (res.job) jobChanged(job.scheduler, job.id, res.job);
      return refresh();
    },
  });
  const resume = useMutation({
    mutationFn: () => jobs.resumeJob(key),
    onSuccess: (res) => {
      if (res.removed || res.job)
        jobChanged(job.scheduler, job.id, res.removed ? undefined : res.job);
      return refresh();
    },
  });
  const runNow = useMutation({ mutationFn: () => jobs.runJobNow(key), onSuccess: refresh });
  const remove = useMutation({
    mutationFn: () => jobs.removeJob(key),
    onSuccess: async () => {
      jobChanged(job.scheduler, job.id, undefined);
      await queryClient.invalidateQueries({ queryKey: ["jobs"] });
      await navigate(`/?scheduler=${encodeURIComponent(job.scheduler)}`);
    },
  });
  const busy = pause.isPending || resume.isPending || runNow.isPending || remove.isPending;
  return (
    <div className="actions">
      {job.paused ? (
        <button
          type="button"
          disabled={busy}
          onClick={() => {
            resume.mutate();
          }}
        >
          Resume
        </button>
      ) : (
        <button
          type="button"
          disabled={busy}
          onClick={() => {
            pause.mutate();
          }}
        >
          Pause
        </button>
      )}
      <button
        type="button"
        disabled={busy}
        onClick={() => {
          runNow.mutate();
        }}
      >
        Run now
      </button>
      {confirming ? (
        <>
          <button
            type="button"
            className="danger"
            disabled={busy}
            onClick={() => {
              remove.mutate();
            }}
          >
            Remove {job.id} for good
          </button>
          <button
            type="button"
            onClick={() => {
              setConfirming(false);
            }}
          >
            Keep it
          </button>
        </>
      ) : (
        <button
          type="button"
          className="danger"
          disabled={busy}
          onClick={() => {
            setConfirming(true);
          }}
        >
          Remove
        </button>
      )}
      {runNow.data?.run ? (
        <span className="muted">
          started{" "}
          <Link to={`/runs/${encodeURIComponent(runNow.data.run.runId)}`}>
            {runNow.data.run.runId}
          </Link>
        </span>
      ) : null}
      <ErrorBox error={pause.error ?? resume.error ?? runNow.error ?? remove.error} />
    </div>
  );
}
