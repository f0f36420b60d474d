/** ClusterService: the live nodes and their worker sessions (management/cluster.ts). */
import type { ServiceImpl } from "@connectrpc/connect";
import type { ClusterManager } from "../../management/cluster.js";
import type { ClusterService } from "../../gen/metronome/v1/cluster_service_pb.js";
import { ts } from "../convert/time.js";

export function clusterService(
  cluster: ClusterManager,
): Partial<ServiceImpl<typeof ClusterService>> {
  return {
    async listWorkers(req) {
      const workers = await cluster.listWorkers({
        nodeId: req.nodeId === "" ? undefined : req.nodeId,
        handler: req.handler === "" ? undefined : req.handler,
      });
      return {
        workers: workers.map((w) => ({
          worker: {
            workerId: w.workerId,
            sessionId: w.sessionId,
            handlers: w.handlers.map((h) => ({ handler: h.name, maxConcurrency: h.limit })),
            maxConcurrency: w.maxConcurrency,
            labels: { ...w.labels },
          },
          nodeId: w.nodeId,
          slotsInUse: w.slotsInUse,
          connectedAt: ts(w.connectedAt),
          lastHeartbeat: ts(w.lastHeartbeat),
          sdk: w.labels.sdk ?? "",
          draining: w.draining,
          lastRecorded: ts(w.recordedAt),
        })),
      };
    },

    async listNodes() {
      const nodes = await cluster.listNodes();
      return {
        nodes: nodes.map((n) => ({
          nodeId: n.nodeId,
          version: n.version,
          address: n.address,
          role: n.role,
          startedAt: ts(n.startedAt),
          lastSeen: ts(n.lastSeen),
          state: n.state,
          workerSessions: n.activity.workerSessions,
          runsInFlight: n.activity.runsInFlight,
          subscribers: n.activity.subscribers,
          expiresAt: ts(n.expiresAt),
        })),
      };
    },
  };
}
