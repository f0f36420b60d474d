/**
 * The `cluster_nodes` table: one row per node, written by the node itself (its state, activity
 * and worker sessions as JSON) with an expiry it keeps pushing forward.
 */
import type { NodeRecord } from "../../port.js";
import { exec, type Tx } from "../runner.js";

/** Replaces a node's row. */
export function* recordNode(node: NodeRecord, expiresAt: number): Tx<void> {
  yield* exec("DELETE FROM `cluster_nodes` WHERE `node_id` = ?", [node.nodeId]);
  yield* exec(
    "INSERT INTO `cluster_nodes` (`node_id`, `version`, `address`, `role`, `state`, `started_at`, `last_seen`, `expires_at`, `activity`, `workers`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [
      node.nodeId,
      node.version,
      node.address,
      node.role,
      node.state,
      node.startedAt,
      node.lastSeen,
      expiresAt,
      JSON.stringify(node.activity),
      JSON.stringify(node.workers),
    ],
  );
}

/** Deletes a node's row (it stopped). */
export function* removeNode(nodeId: string): Tx<void> {
  yield* exec("DELETE FROM `cluster_nodes` WHERE `node_id` = ?", [nodeId]);
}

/** Deletes rows that expired before `before` (nodes that stopped without cleaning up). */
export function* deleteExpiredNodes(before: number): Tx<number> {
  return yield* exec("DELETE FROM `cluster_nodes` WHERE `expires_at` < ?", [before]);
}
