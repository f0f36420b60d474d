/**
 * What a Redis Cluster store (cluster.ts) keeps on its home shard, which belongs to no scheduler:
 * API keys, the event log, the worker registry and the cluster's nodes. Each is the home shard's
 * own Redis store's (store.ts), on one slot as on one server.
 */
import type { EventDraft, EventMatcher } from "../../domain/events.js";
import type { ApiKeyRecord } from "../../domain/keys.js";
import type {
  EventsRead,
  LogState,
  NodeRecord,
  SessionRecord,
  Store,
  StoreChange,
  StoredNode,
} from "../port.js";
import type { RedisStore } from "./store.js";

/** The home shard's hash tag. */
export const HOME_TAG = "home";

/** The part of the store port answered by the home shard alone. */
export type HomeRecords = Pick<
  Store,
  | "ping"
  | "insertKey"
  | "getKey"
  | "listKeys"
  | "revokeKey"
  | "appendEvents"
  | "logState"
  | "readEvents"
  | "pruneEvents"
  | "registerSession"
  | "unregisterSession"
  | "refreshSessions"
  | "servingSessions"
  | "deleteExpiredSessions"
  | "onChange"
  | "recordNode"
  | "removeNode"
  | "listNodes"
  | "deleteExpiredNodes"
>;

export abstract class OnHomeShard implements HomeRecords {
  constructor(protected readonly home: RedisStore) {}

  async ping(): Promise<void> {
    await this.home.ping();
  }

  // ---- API keys ----

  insertKey(key: ApiKeyRecord, events: readonly EventDraft[] = []): Promise<boolean> {
    return this.home.insertKey(key, events);
  }

  getKey(id: string): Promise<ApiKeyRecord | null> {
    return this.home.getKey(id);
  }

  listKeys(): Promise<ApiKeyRecord[]> {
    return this.home.listKeys();
  }

  revokeKey(
    id: string,
    at: number,
    by: string,
    events?: (revoked: ApiKeyRecord) => readonly EventDraft[],
  ): Promise<{ readonly key: ApiKeyRecord; readonly revoked: boolean } | null> {
    return this.home.revokeKey(id, at, by, events);
  }

  // ---- the event log (the shards' events are moved into it: cluster.ts) ----

  appendEvents(list: readonly EventDraft[]): Promise<void> {
    return this.home.appendEvents(list);
  }

  logState(): Promise<LogState> {
    return this.home.logState();
  }

  readEvents(
    after: number,
    upTo: number,
    limit: number,
    matcher?: EventMatcher,
  ): Promise<EventsRead> {
    return this.home.readEvents(after, upTo, limit, matcher);
  }

  pruneEvents(before: number, limit: number): Promise<number> {
    return this.home.pruneEvents(before, limit);
  }

  // ---- the worker registry and the cluster's nodes ----

  registerSession(
    session: SessionRecord,
    expiresAt: number,
    events: readonly EventDraft[] = [],
  ): Promise<void> {
    return this.home.registerSession(session, expiresAt, events);
  }

  unregisterSession(sessionId: string, events: readonly EventDraft[] = []): Promise<void> {
    return this.home.unregisterSession(sessionId, events);
  }

  refreshSessions(sessionIds: readonly string[], expiresAt: number): Promise<void> {
    return this.home.refreshSessions(sessionIds, expiresAt);
  }

  servingSessions(
    handlers: readonly string[],
    now: number,
    exceptNode: string,
  ): Promise<Map<string, number>> {
    return this.home.servingSessions(handlers, now, exceptNode);
  }

  deleteExpiredSessions(before: number): Promise<number> {
    return this.home.deleteExpiredSessions(before);
  }

  /** Other nodes' changes are found by polling, as on one Redis server. */
  onChange(listener: (change: StoreChange) => void): void {
    this.home.onChange(listener);
  }

  recordNode(node: NodeRecord, expiresAt: number): Promise<void> {
    return this.home.recordNode(node, expiresAt);
  }

  removeNode(nodeId: string): Promise<void> {
    return this.home.removeNode(nodeId);
  }

  listNodes(now: number): Promise<StoredNode[]> {
    return this.home.listNodes(now);
  }

  deleteExpiredNodes(before: number): Promise<number> {
    return this.home.deleteExpiredNodes(before);
  }
}
