/**
 * The jobs of a scheduler, with search (id prefix) and filters (handler, paused or active), page
 * after page. The filters live in the URL, so a filtered list can be shared and reloaded.
 */
import { keepPreviousData, useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";
import { JobOrder } from "../../../src/gen/metronome/v1/job_service_pb.js";
import { jobs, listAllSchedulers } from "../api.js";
import { ErrorBox } from "../components/ErrorBox.js";
import { when } from "../format.js";
import { triggerInWords } from "../trigger-words.js";
import { MoreButton } from "../components/MoreButton.js";

const PAGE_SIZE = 50;

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
  const list = useInfiniteQuery({
    queryKey: ["jobs", scheduler, search, handler, state],
    queryFn: ({ pageParam }) =>
      jobs.listJobs({
        scheduler,
        idPrefix: search,
        handler,
        ...(state === "all" ? {} : { paused: state === "paused" }),
        orderBy: JobOrder.ID,
        pageSize: PAGE_SIZE,
        pageToken: pageParam,
      }),
    initialPageParam: "",
    getNextPageParam: (last) => (last.nextPageToken === "" ? undefined : last.nextPageToken),
    refetchInterval: 5000,
    // While a search is typed, the last list stays until the new one arrives.
    placeholderData: keepPreviousData,
  });
  const rows = list.data?.pages.flatMap((p) => p.jobs) ?? [];
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
      <ErrorBox error={list.error ?? schedulerList.error} />
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
            <tr key={job.id}>
              <td>
                <Link
                  to={`/jobs/${encodeURIComponent(job.scheduler)}/${encodeURIComponent(job.id)}`}
                >
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
          ))}
        </tbody>
      </table>
      {list.isSuccess && rows.length === 0 ? <p className="muted">No jobs match.</p> : null}
      <MoreButton list={list} />
    </section>
  );
}
