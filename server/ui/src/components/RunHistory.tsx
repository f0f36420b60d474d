/**
 * A job's runs, newest first: status, times, duration, attempt, error and result; 25 at first,
 * and **More** reads the next page (ListRuns' page token) until the oldest run is shown.
 */
import { useInfiniteQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { runs } from "../api.js";
import { between, when } from "../format.js";
import { ErrorBox } from "./ErrorBox.js";
import { StatusBadge } from "./StatusBadge.js";
import { MoreButton } from "./MoreButton.js";

/** Runs per page of the history. */
const PAGE_SIZE = 25;

export function RunHistory({
  scheduler,
  jobId,
}: {
  readonly scheduler: string;
  readonly jobId: string;
}) {
  const list = useInfiniteQuery({
    queryKey: ["runs", scheduler, jobId],
    queryFn: ({ pageParam }) =>
      runs.listRuns({ scheduler, jobId, pageSize: PAGE_SIZE, pageToken: pageParam }),
    initialPageParam: "",
    getNextPageParam: (last) => (last.nextPageToken === "" ? undefined : last.nextPageToken),
    // Every page shown is read again: new runs come first, older ones change status.
    refetchInterval: 2000,
  });
  // A run that moved to the next page between two reads is shown once.
  const seen = new Set<string>();
  const rows = (list.data?.pages.flatMap((p) => p.runs) ?? []).filter((r) => {
    if (seen.has(r.runId)) return false;
    seen.add(r.runId);
    return true;
  });
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
      <MoreButton list={list} />
    </>
  );
}
