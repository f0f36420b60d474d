/**
 * The live nodes of the cluster (ListNodes): id, version, address, role, state, started, last
 * seen, and what each is doing (worker sessions, runs in flight, event subscribers).
 */
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import type { NodeInfo } from "../../../src/gen/metronome/v1/cluster_service_pb.js";
import { cluster } from "../api.js";
import { ErrorBox } from "../components/ErrorBox.js";
import { when } from "../format.js";

export function NodesPage() {
  const list = useQuery({
    queryKey: ["nodes"],
    queryFn: () => cluster.listNodes({}),
    refetchInterval: 5000,
  });
  return (
    <section>
      <h1>Nodes</h1>
      <ErrorBox error={list.error} />
      <table className="grid" data-testid="nodes">
        <thead>
          <tr>
            <th>Node</th>
            <th>Version</th>
            <th>Address</th>
            <th>Role</th>
            <th>State</th>
            <th>Started</th>
            <th>Last seen</th>
            <th>Sessions</th>
            <th>Runs in flight</th>
            <th>Subscribers</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.nodes ?? []).map((n) => (
            <NodeRow key={n.nodeId} node={n} />
          ))}
        </tbody>
      </table>
      {list.isSuccess && list.data.nodes.length === 0 ? (
        <p className="muted">No live node has recorded itself yet.</p>
      ) : null}
      <p className="muted">
        Each node records itself every third of its lease (METRONOME_NODE_LEASE); a node that stops
        doing so drops out when its lease runs out.
      </p>
    </section>
  );
}

function NodeRow({ node: n }: { readonly node: NodeInfo }) {
  return (
    <tr>
      <td>
        <code>{n.nodeId}</code>
      </td>
      <td>{n.version}</td>
      <td>
        <code>{n.address}</code>
      </td>
      <td>{n.role}</td>
      <td>{n.state === "serving" ? n.state : <span className="paused">{n.state}</span>}</td>
      <td>{when(n.startedAt)}</td>
      <td>{when(n.lastSeen)}</td>
      <td>
        <Link to={`/workers?node=${encodeURIComponent(n.nodeId)}`}>{n.workerSessions}</Link>
      </td>
      <td>{n.runsInFlight}</td>
      <td>{n.subscribers}</td>
    </tr>
  );
}
