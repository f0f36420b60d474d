import type { NodeActivity, StoredNode, WorkerRecord } from "../../port.js";
import { all, num, strOrNull, type Tx } from "../runner.js";

/** The rows that have not expired at `now`, by node id. */
export function* listNodes(now: number): Tx<StoredNode[]> {
  const rows = yield* all(
    "SELECT `node_id`, `version`, `address`, `role`, `state`, `started_at`, `last_seen`, `expires_at`, `activity`, `workers` FROM `cluster_nodes` WHERE `expires_at` > ? ORDER BY `node_id`",
    [now],
  );
  return rows.map((r) => ({
    nodeId: strOrNull(r.node_id) ?? "",
    version: strOrNull(r.version) ?? "",
    address: strOrNull(r.address) ?? "",
    role: strOrNull(r.role) === "api" ? "api" : "scheduler",
    state: strOrNull(r.state) === "stopping" ? "stopping" : "serving",
    startedAt: num(r.started_at),
    lastSeen: num(r.last_seen),
    expiresAt: num(r.expires_at),
    activity: JSON.parse(strOrNull(r.activity) ?? "{}") as NodeActivity,
    workers: JSON.parse(strOrNull(r.workers) ?? "[]") as WorkerRecord[],
  }));
}
