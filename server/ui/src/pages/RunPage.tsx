/** One run: every field the API keeps, its error with the stack, its result, and cancel. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import { RunStatus } from "../../../src/gen/metronome/v1/run_pb.js";
import { runs } from "../api.js";
import { ErrorBox } from "../components/ErrorBox.js";
import { StatusBadge } from "../components/StatusBadge.js";
import { between, prettyJson, when } from "../format.js";

const OPEN = new Set([RunStatus.PENDING, RunStatus.RUNNING]);

export function RunPage() {
  const { runId = "" } = useParams();
  const queryClient = useQueryClient();
  const run = useQuery({
    queryKey: ["run", runId],
    queryFn: () => runs.getRun({ runId }),
    refetchInterval: (q) => (q.state.data?.run && OPEN.has(q.state.data.run.status) ? 1000 : false),
  });
  const cancel = useMutation({
    mutationFn: () => runs.cancelRun({ runId, reason: "cancelled from the dashboard" }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["run", runId] }),
  });
  const r = run.data?.run;
  return (
    <section>
      {r ? (
        <p className="crumbs">
          <Link to={`/?scheduler=${encodeURIComponent(r.scheduler)}`}>{r.scheduler}</Link> /{" "}
          <Link to={`/jobs/${encodeURIComponent(r.scheduler)}/${encodeURIComponent(r.jobId)}`}>
            {r.jobId}
          </Link>{" "}
          /
        </p>
      ) : null}
      <h1>Run {runId}</h1>
      <ErrorBox error={run.error} />
      {r ? (
        <>
          <p>
            <StatusBadge status={r.status} /> {r.statusReason}
          </p>
          {OPEN.has(r.status) ? (
            <div className="actions">
              <button
                type="button"
                className="danger"
                disabled={cancel.isPending}
                onClick={() => {
                  cancel.mutate();
                }}
              >
                Cancel run
              </button>
              <ErrorBox error={cancel.error} />
            </div>
          ) : null}
          <dl className="facts" data-testid="run">
            <dt>Handler</dt>
            <dd>
              <code>{r.handler}</code>
            </dd>
            <dt>Scheduled</dt>
            <dd>
              {when(r.scheduledTime)}
              {r.manual ? " (run now)" : ""}
            </dd>
            <dt>Fired</dt>
            <dd>{when(r.fireTime)}</dd>
            <dt>Started</dt>
            <dd>{when(r.startedAt)}</dd>
            <dt>Finished</dt>
            <dd>{when(r.finishedAt)}</dd>
            <dt>Duration</dt>
            <dd>{between(r.startedAt, r.finishedAt)}</dd>
            <dt>Attempt</dt>
            <dd>
              {r.attempt}
              {r.retryAt ? `, next attempt at ${when(r.retryAt)}` : ""}
            </dd>
            <dt>Worker</dt>
            <dd>{r.workerId || "—"}</dd>
            {r.triggeredBy !== "" ? (
              <>
                <dt>Triggered by</dt>
                <dd>
                  <code data-testid="triggered-by">{r.triggeredBy}</code> (run now)
                </dd>
              </>
            ) : null}
          </dl>
          {r.error ? (
            <>
              <h2>Error</h2>
              <p className="error-text">
                {r.error.type !== "" ? `${r.error.type}: ` : ""}
                {r.error.message}
                {r.error.nonRetryable ? " (not retried)" : ""}
              </p>
              {r.error.stack !== "" ? <pre>{r.error.stack}</pre> : null}
            </>
          ) : null}
          {r.resultJson !== "" ? (
            <>
              <h2>Result</h2>
              <pre data-testid="result">{prettyJson(r.resultJson)}</pre>
            </>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
