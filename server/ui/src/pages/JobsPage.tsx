/**
 * The jobs of a scheduler, with search (id prefix) and filters (handler, paused or active), page
 * after page. The filters live in the URL, so a filtered list can be shared and reloaded. The
 * first page is read again every 5 s; the pages read with **More** are kept as read until
 * **Refresh** (job-list.ts), so a long list costs one call per refresh, not one per page.
 */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { memo, useMemo, useSyncExternalStore } from "react";
import { Link, useSearchParams } from "react-router";
import type { Job } from "../../../src/gen/metronome/v1/job_pb.js";
import { listAllSchedulers } from "../api.js";
import { ErrorBox } from "../components/ErrorBox.js";
import { RestReadNote } from "../components/RestReadNote.js";
import { when } from "../format.js";
import { jobList, PAGE_SIZE, REFRESH_MS } from "../job-list.js";
import { triggerInWords } from "../trigger-words.js";
import { MoreButton } from "../components/MoreButton.js";

export function JobsPage() {
  const [params, setParams] = useSearchParams();
  const scheduler = params.get("scheduler") ?? "default";
  const search = params.get("q") ?? "";
  const handler = params.get("handler") ?? "";
  const state = params.get("state") ?? "all";
  const set = (key: string, value: string, empty: string) => {
    const next = new URLSearchParams(params);
    if (value === empty) next.delete(key);
    else next.set(key, value);
    setParams(next, { replace: true });
  };

  const schedulerList = useQuery({
    queryKey: ["schedulers"],
    queryFn: listAllSchedulers,
  });
  const paused = state === "all" ? undefined : state === "paused";
  const store = useMemo(
    () => jobList({ scheduler, idPrefix: search, handler, paused }),
    [scheduler, search, handler, paused],
  );
  // The timer (and a return to the tab) reads the first page only; the rows past it stay as read.
  const list = useQuery({
    queryKey: ["jobs", scheduler, search, handler, state],
    queryFn: () => store.refreshFirstPage(),
    refetchInterval: REFRESH_MS,
    structuralSharing: false,
    // While a search is typed, the last list stays until the new one arrives.
    placeholderData: keepPreviousData,
  });
  const live = useSyncExternalStore(store.subscribe, store.getView);
  const view = live.loaded ? live : (list.data ?? live);
  const rows = view.rows;
  const more = {
    hasNextPage: live.hasMore,
    isFetchingNextPage: live.loadingMore || live.refreshing,
    fetchNextPage: () => store.more(),
  };
  const names = schedulerList.data?.map((s) => s.name) ?? [];
  if (!names.includes(scheduler)) names.unshift(scheduler);

  return (
    <section>
      <h1>Jobs</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
        }}
      >
        <label>
          Scheduler{" "}
          <select
            name="scheduler"
            value={scheduler}
            onChange={(e) => {
              set("scheduler", e.target.value, "default");
            }}
          >
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label>
          Id starts with{" "}
          <input
            type="search"
            name="q"
            value={search}
            onChange={(e) => {
              set("q", e.target.value, "");
            }}
          />
        </label>
        <label>
          Handler{" "}
          <input
            type="text"
            name="handler"
            value={handler}
            placeholder="any"
            onChange={(e) => {
              set("handler", e.target.value, "");
            }}
          />
        </label>
        <label>
          State{" "}
          <select
            name="state"
            value={state}
            onChange={(e) => {
              set("state", e.target.value, "all");
            }}
          >
            <option value="all">all</option>
            <option value="active">active</option>
            <option value="paused">paused</option>
          </select>
        </label>
      </form>
      <ErrorBox error={list.error ?? live.error ?? schedulerList.error} />
      <table className="grid" data-testid="jobs">
        <thead>
          <tr>
            <th>Id</th>
            <th>Handler</th>
            <th>Trigger</th>
            <th>Next run</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((job) => (
            <JobRow key={job.id} job={job} />
          ))}
        </tbody>
      </table>
      {list.isSuccess && rows.length === 0 ? <p className="muted">No jobs match.</p> : null}
      {rows.length > PAGE_SIZE ? (
        <RestReadNote
          head={`The first ${String(PAGE_SIZE)} jobs`}
          everyMs={REFRESH_MS}
          readAt={view.restReadAt}
          busy={live.refreshing || live.loadingMore}
          testId="rest-read-at"
          onRefresh={() => {
            void store.refresh();
          }}
        />
      ) : null}
      <MoreButton list={more} />
    </section>
  );
}

/**
 * One job's row. A row is drawn again only when its job was read again: a refresh of the first
 * page leaves the rows past it as they are, however many pages are shown.
 */
const JobRow = memo(function JobRow({ job }: { readonly job: Job }) {
  return (
    <tr>
      <td>
        <Link to={`/jobs/${encodeURIComponent(job.scheduler)}/${encodeURIComponent(job.id)}`}>
          {job.id}
        </Link>
        {job.name !== "" && job.name !== job.id && job.name !== job.handler ? (
          <div className="muted">{job.name}</div>
        ) : null}
      </td>
      <td>
        <code>{job.handler}</code>
      </td>
      <td>{triggerInWords(job.trigger)}</td>
      <td>{job.paused ? "—" : when(job.nextRunTime)}</td>
      <td>{job.paused ? <span className="paused">paused</span> : "active"}</td>
    </tr>
  );
});
