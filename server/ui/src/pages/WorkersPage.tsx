/**
 * The worker sessions connected to the cluster (ListWorkers): session, node, handlers with their
 * limits, slots in use, connected since, last heard, SDK, draining. `?node=` and `?handler=`
 * filter on the server.
 */
import { useQuery } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";
import type { WorkerSessionInfo } from "../../../src/gen/metronome/v1/cluster_service_pb.js";
import { cluster } from "../api.js";
import { ErrorBox } from "../components/ErrorBox.js";
import { when } from "../format.js";

export function WorkersPage() {
  const [params] = useSearchParams();
  const nodeId = params.get("node") ?? "";
  const handler = params.get("handler") ?? "";
  const list = useQuery({
    queryKey: ["workers", nodeId, handler],
    queryFn: () => cluster.listWorkers({ nodeId, handler }),
    refetchInterval: 5000,
  });
  const filtered = nodeId !== "" || handler !== "";
  return (
    <section>
      <h1>Workers</h1>
      {filtered ? (
        <p className="crumbs">
          {nodeId !== "" ? `on node ${nodeId}` : null}
          {nodeId !== "" && handler !== "" ? ", " : null}
          {handler !== "" ? `serving ${handler}` : null} · <Link to="/workers">all workers</Link>
        </p>
      ) : null}
      <ErrorBox error={list.error} />
      <table className="grid" data-testid="workers">
        <thead>
          <tr>
            <th>Session</th>
            <th>Node</th>
            <th>Handlers (limit)</th>
            <th>Slots in use</th>
            <th>Connected since</th>
            <th>Last heard</th>
            <th>SDK</th>
            <th>Draining</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.workers ?? []).map((w) => (
            <WorkerRow key={w.worker?.sessionId ?? ""} session={w} />
          ))}
        </tbody>
      </table>
      {list.isSuccess && list.data.workers.length === 0 ? (
        <p className="muted">
          No worker session{filtered ? " matches" : " is connected to any live node"}.
        </p>
      ) : null}
      <p className="muted">
        Each node records its sessions every third of its lease (METRONOME_NODE_LEASE): what is
        shown can be that much old.
      </p>
    </section>
  );
}

/** A handler's limit: "8", or "no limit" for 0 (only the worker's own limit applies). */
function limit(n: number): string {
  return n === 0 ? "no limit" : String(n);
}

function WorkerRow({ session: s }: { readonly session: WorkerSessionInfo }) {
  const w = s.worker;
  return (
    <tr>
      <td>
        <code>{w?.sessionId ?? "—"}</code>
        <br />
        <span className="muted">worker {w?.workerId ?? "—"}</span>
      </td>
      <td>
        <Link to={`/workers?node=${encodeURIComponent(s.nodeId)}`}>{s.nodeId}</Link>
      </td>
      <td>
        {(w?.handlers ?? []).map((h) => (
          <div key={h.handler}>
            <Link to={`/?handler=${encodeURIComponent(h.handler)}`}>{h.handler}</Link>
            {` (${limit(h.maxConcurrency)})`}
          </div>
        ))}
      </td>
      <td>
        {s.slotsInUse}
        {w !== undefined && w.maxConcurrency > 0 ? ` of ${String(w.maxConcurrency)}` : ""}
      </td>
      <td>{when(s.connectedAt)}</td>
      <td>{when(s.lastHeartbeat)}</td>
      <td>{s.sdk === "" ? "—" : s.sdk}</td>
      <td>{s.draining ? <span className="paused">draining</span> : "no"}</td>
    </tr>
  );
}
