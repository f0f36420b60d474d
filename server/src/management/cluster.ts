/**
 * The cluster as its nodes record it (cluster/node-registry.ts): the live nodes and the worker
 * sessions connected to each, read from the store so that any node answers for all.
 */
import type { Clock } from "../clock.js";
import type { ClusterRegistry, StoredNode, WorkerRecord } from "../store/port.js";

export interface WorkerView extends WorkerRecord {
  readonly nodeId: string;
  /** When its node last recorded it. */
  readonly recordedAt: number;
}

export interface WorkerQuery {
  readonly nodeId?: string | undefined;
  readonly handler?: string | undefined;
}

export class ClusterManager {
  constructor(
    private readonly store: Pick<ClusterRegistry, "listNodes">,
    private readonly clock: Clock,
  ) {}

  /** The nodes whose records have not expired, by node id. */
  listNodes(): Promise<StoredNode[]> {
    return this.store.listNodes(this.clock.now());
  }

  /** The worker sessions of the live nodes, by node, then connection time, then session id. */
  async listWorkers(query: WorkerQuery = {}): Promise<WorkerView[]> {
    const out: WorkerView[] = [];
    for (const n of await this.listNodes()) {
      if (query.nodeId !== undefined && n.nodeId !== query.nodeId) continue;
      const workers = [...n.workers]
        .filter(
          (w) => query.handler === undefined || w.handlers.some((h) => h.name === query.handler),
        )
        .sort((a, b) => a.connectedAt - b.connectedAt || (a.sessionId < b.sessionId ? -1 : 1));
      for (const w of workers) out.push({ ...w, nodeId: n.nodeId, recordedAt: n.lastSeen });
    }
    return out;
  }
}
