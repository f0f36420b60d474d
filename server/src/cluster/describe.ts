/** What a node records about itself in the cluster registry: made from its parts. */
import type { NodeSessions } from "../dispatch/node-sessions.js";
import type { WorkerRecord } from "../store/port.js";
import type { NodeDescription } from "./node-registry.js";

export interface NodeParts {
  readonly nodeId: string;
  readonly version: string;
  /** Where it listens (empty until it does). */
  readonly address: () => string;
  readonly firing: boolean;
  readonly startedAt: number;
  readonly stopping: () => boolean;
  readonly sessions: NodeSessions;
  readonly subscribers: () => number;
}

export function describeNode(p: NodeParts): NodeDescription {
  const workers: WorkerRecord[] = [];
  let runsInFlight = 0;
  for (const s of p.sessions.values()) {
    let inUse = 0;
    for (const a of s.active.values()) if (a.held === undefined) inUse++;
    runsInFlight += inUse;
    workers.push({
      sessionId: s.id,
      workerId: s.workerId,
      handlers: [...s.handlers].map(([name, limit]) => ({ name, limit })),
      maxConcurrency: s.maxConcurrency,
      labels: s.labels,
      slotsInUse: inUse,
      connectedAt: s.connectedAt,
      lastHeartbeat: s.lastMessageAt,
      draining: s.draining,
    });
  }
  return {
    nodeId: p.nodeId,
    version: p.version,
    address: p.address(),
    role: p.firing ? "scheduler" : "api",
    state: p.stopping() ? "stopping" : "serving",
    startedAt: p.startedAt,
    activity: {
      workerSessions: workers.length,
      runsInFlight,
      subscribers: p.subscribers(),
    },
    workers,
  };
}
