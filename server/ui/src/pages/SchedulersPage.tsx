/**
 * The schedulers (every page of ListSchedulers): time zone, job defaults, paused or not, with
 * pause and resume.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router";
import type { Scheduler } from "../../../src/gen/metronome/v1/scheduler_pb.js";
import { listAllSchedulers, schedulers } from "../api.js";
import { ErrorBox } from "../components/ErrorBox.js";
import { durationText, when } from "../format.js";

export function SchedulersPage() {
  const list = useQuery({
    queryKey: ["schedulers"],
    queryFn: listAllSchedulers,
    refetchInterval: 5000,
  });
  return (
    <section>
      <h1>Schedulers</h1>
      <ErrorBox error={list.error} />
      <table className="grid" data-testid="schedulers">
        <thead>
          <tr>
            <th>Name</th>
            <th>Time zone</th>
            <th>Job defaults</th>
            <th>Since</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((s) => (
            <SchedulerRow key={s.name} scheduler={s} />
          ))}
        </tbody>
      </table>
      {list.isSuccess && list.data.length === 0 ? (
        <p className="muted">No scheduler yet: the first job added creates `default`.</p>
      ) : null}
    </section>
  );
}

function SchedulerRow({ scheduler: s }: { readonly scheduler: Scheduler }) {
  const queryClient = useQueryClient();
  const onSuccess = () => queryClient.invalidateQueries({ queryKey: ["schedulers"] });
  const pause = useMutation({
    mutationFn: () => schedulers.pauseScheduler({ name: s.name }),
    onSuccess,
  });
  const resume = useMutation({
    mutationFn: () => schedulers.resumeScheduler({ name: s.name }),
    onSuccess,
  });
  const d = s.jobDefaults;
  const grace = d?.misfireGraceTime?.value;
  return (
    <tr>
      <td>
        <Link to={`/?scheduler=${encodeURIComponent(s.name)}`}>{s.name}</Link>
      </td>
      <td>{s.timezone}</td>
      <td>
        coalesce {d?.coalesce === undefined ? "(server default)" : String(d.coalesce)}, max
        instances {d?.maxInstances ?? "(server default)"}, misfire grace{" "}
        {grace === undefined
          ? "(server default)"
          : grace.case === "noLimit"
            ? "no limit"
            : durationText(grace.value)}
      </td>
      <td>{when(s.createdAt)}</td>
      <td>
        {s.paused ? <span className="paused">paused</span> : "running"}{" "}
        <button
          type="button"
          disabled={pause.isPending || resume.isPending}
          onClick={() => {
            if (s.paused) resume.mutate();
            else pause.mutate();
          }}
        >
          {s.paused ? "Resume" : "Pause"}
        </button>
        <ErrorBox error={pause.error ?? resume.error} />
      </td>
    </tr>
  );
}
