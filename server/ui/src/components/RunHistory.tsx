/**
 * A job's runs, newest first: status, times, duration, attempt, error and result; 25 at first,
 * and **More** reads the next page (ListRuns' page token) until the oldest run is shown. The 25
 * newest runs are read again every 2 s (new runs come at the top); the runs past them stay as
 * read until **Refresh** (run-list.ts), so a long history costs one call per refresh, not one per
 * page.
 */
import { useQuery } from "@tanstack/react-query";
import { memo, useMemo, useSyncExternalStore } from "react";
import { Link } from "react-router";
import type { Run } from "../../../src/gen/metronome/v1/run_pb.js";
import { between, when } from "../format.js";
import { PAGE_SIZE, REFRESH_MS, runList } from "../run-list.js";
import { ErrorBox } from "./ErrorBox.js";
import { StatusBadge } from "./StatusBadge.js";
import { MoreButton } from "./MoreButton.js";
import { RestReadNote } from "./RestReadNote.js";

export function RunHistory({
  scheduler,
  jobId,
}: {
  readonly scheduler: string;
  readonly jobId: string;
}) {
  const store = useMemo(() => runList(scheduler, jobId), [scheduler, jobId]);
  // The timer (a return to the tab, a change made on the page) reads the first page only.
  const list = useQuery({
    queryKey: ["runs", scheduler, jobId],
    queryFn: () => store.refreshFirstPage(),
    refetchInterval: REFRESH_MS,
    structuralSharing: false,
  });
  const live = useSyncExternalStore(store.subscribe, store.getView);
  const rows = live.rows;
  const more = {
    hasNextPage: live.hasMore,
    isFetchingNextPage: live.loadingMore || live.refreshing,
    fetchNextPage: () => store.more(),
  };
  return (
    <>
      <ErrorBox error={list.error ?? live.error} />
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
            <RunRow key={run.runId} run={run} />
          ))}
        </tbody>
      </table>
      {live.loaded && rows.length === 0 ? <p className="muted">No runs yet.</p> : null}
      {rows.length > PAGE_SIZE ? (
        <RestReadNote
          head={`The ${String(PAGE_SIZE)} newest runs`}
          everyMs={REFRESH_MS}
          readAt={live.restReadAt}
          busy={live.refreshing || live.loadingMore}
          testId="runs-rest-read-at"
          onRefresh={() => {
            void store.refresh();
          }}
        />
      ) : null}
      <MoreButton list={more} />
    </>
  );
}

/** One run's row, drawn again only when its run was read again. */
const RunRow = memo(function RunRow({ run }: { readonly run: Run }) {
  return (
    <tr>
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
  );
});
