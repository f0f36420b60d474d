/** A job's runs, newest first: status, times, duration, attempt, error and result. */
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { runs } from "../api.js";
import { between, when } from "../format.js";
import { ErrorBox } from "./ErrorBox.js";
import { StatusBadge } from "./StatusBadge.js";

export function RunHistory({
  scheduler,
  jobId,
}: {
  readonly scheduler: string;
  readonly jobId: string;
}) {
  const list = useQuery({
    queryKey: ["runs", scheduler, jobId],
    queryFn: () => runs.listRuns({ scheduler, jobId, pageSize: 25 }),
    refetchInterval: 2000,
  });
  const rows = list.data?.runs ?? [];
  return (
    <>
      <ErrorBox error={list.error} />
      <table className="grid" data-testid="runs">
        <thead>
          <tr>
            <th>Run</th>
            <th>Status</th>
            <th>Scheduled</th>
            <th>Started</th>
            <th>Duration</th>
            <th>Attempt</th>
            <th>Error or result</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((run) => (
            <tr key={run.runId}>
              <td>
                <Link to={`/runs/${encodeURIComponent(run.runId)}`}>
                  <code>{run.runId}</code>
                </Link>
                {run.manual ? <span className="muted"> manual</span> : null}
              </td>
              <td>
                <StatusBadge status={run.status} />
              </td>
              <td className="nowrap">{when(run.scheduledTime)}</td>
              <td className="nowrap">{when(run.startedAt)}</td>
              <td>{between(run.startedAt, run.finishedAt)}</td>
              <td>{run.attempt}</td>
              <td className="outcome">
                {run.error ? (
                  <span className="error-text">
                    {run.error.type !== "" ? `${run.error.type}: ` : ""}
                    {run.error.message}
                  </span>
                ) : (
                  <code>{run.resultJson}</code>
                )}
                {run.statusReason !== "" && !run.error ? (
                  <div className="muted">{run.statusReason}</div>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.isSuccess && rows.length === 0 ? <p className="muted">No runs yet.</p> : null}
    </>
  );
}
