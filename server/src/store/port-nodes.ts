/**
 * The store port's part about who is out there: the worker sessions of every node (which handlers
 * have a worker anywhere), the cluster's node records (ListNodes, ListWorkers), and the changes
 * other nodes announce. Part of the one `Store` interface (port.ts, which re-exports this file).
 */
import type { EventDraft } from "../domain/events.js";

// ---- the worker registry ----

/** A live worker session and the handlers it serves. */
export interface SessionRecord {
  readonly sessionId: string;
  readonly workerId: string;
  readonly nodeId: string;
  readonly handlers: readonly string[];
}

/**
 * Which handlers the worker sessions of every node serve, so that any node can tell whether a
 * job's handler has a worker anywhere (Job.worker_count, job_at_risk). A session's record
 * expires unless its node refreshes it, so a crashed node's sessions stop counting by themselves.
 */
export interface WorkerRegistry {
  /** Records a session until `expiresAt`, with `events` in the same transaction. */
  registerSession(
    session: SessionRecord,
    expiresAt: number,
    events?: readonly EventDraft[],
  ): Promise<void>;
  /** Removes a session's record (it drained or ended), with `events`. */
  unregisterSession(sessionId: string, events?: readonly EventDraft[]): Promise<void>;
  /** Pushes the expiry of live sessions' records forward. */
  refreshSessions(sessionIds: readonly string[], expiresAt: number): Promise<void>;
  /** How many unexpired sessions of nodes other than `exceptNode` serve each handler (absent: 0). */
  servingSessions(
    handlers: readonly string[],
    now: number,
    exceptNode: string,
  ): Promise<Map<string, number>>;
  /** Deletes records that expired before `before`; answers how many. */
  deleteExpiredSessions(before: number): Promise<number>;
}

// ---- what other nodes change ----

/**
 * A change another node made that this node's loops look at at once rather than at their next
 * poll: jobs or schedulers changed ("jobs": the claim loop), runs became pending ("runs": the
 * hand-out to workers), events got cursors ("events": the event hub).
 */
export type StoreChange = "jobs" | "runs" | "events";

export interface ChangeFeed {
  /**
   * Calls `listener` for each change another node announces, as soon as the store hears of it
   * (PostgreSQL's LISTEN/NOTIFY). A store that cannot tell never calls it, and a notice may be
   * lost (a reconnect): nodes keep polling as well. One listener; a later call replaces it.
   */
  onChange(listener: (change: StoreChange) => void): void;
}

// ---- the cluster: nodes and their worker sessions ----

/** One worker session as its node records it (ListWorkers). */
export interface WorkerRecord {
  readonly sessionId: string;
  readonly workerId: string;
  /** Handler name and its limit (0: only the total applies). */
  readonly handlers: readonly { readonly name: string; readonly limit: number }[];
  readonly maxConcurrency: number;
  readonly labels: Readonly<Record<string, string>>;
  /** Runs sent to the worker and not reported yet. */
  readonly slotsInUse: number;
  readonly connectedAt: number;
  /** When the worker last sent anything. */
  readonly lastHeartbeat: number;
  readonly draining: boolean;
}

/** What a node is doing, as it records it. */
export interface NodeActivity {
  readonly workerSessions: number;
  readonly runsInFlight: number;
  readonly subscribers: number;
}

/** One node as it records itself (ListNodes), with its worker sessions. */
export interface NodeRecord {
  readonly nodeId: string;
  readonly version: string;
  readonly address: string;
  readonly role: "scheduler" | "api";
  readonly state: "serving" | "stopping";
  readonly startedAt: number;
  /** When it wrote this record. */
  readonly lastSeen: number;
  readonly activity: NodeActivity;
  readonly workers: readonly WorkerRecord[];
}

/** A node's record as read back: with its expiry. */
export interface StoredNode extends NodeRecord {
  readonly expiresAt: number;
}

/**
 * The cluster as its nodes record it: each node writes its own record (and its worker
 * sessions') with a lease it keeps pushing forward, so a node that crashed drops out by itself.
 */
export interface ClusterRegistry {
  /** Writes (or replaces) a node's record, valid until `expiresAt`. */
  recordNode(node: NodeRecord, expiresAt: number): Promise<void>;
  /** Deletes a node's record (it stopped). */
  removeNode(nodeId: string): Promise<void>;
  /** The records that have not expired at `now`, by node id. */
  listNodes(now: number): Promise<StoredNode[]>;
  /** Deletes records that expired before `before`; answers how many. */
  deleteExpiredNodes(before: number): Promise<number>;
}
