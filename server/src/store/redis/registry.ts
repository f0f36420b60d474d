/**
 * The worker sessions and cluster nodes on Redis: a hash of records (`{g}:sessions`,
 * `{g}:nodes`, each record JSON) and a sorted set of their expiries (`{g}:session-expiry`,
 * `{g}:node-expiry`).
 */
import type { EventDraft } from "../../domain/events.js";
import type { NodeRecord, SessionRecord, StoredNode } from "../port.js";
import { type Db, eventArgs } from "./db.js";
import { DELETE_EXPIRED } from "./scripts/expire.js";
import { RECORD_NODE, REMOVE_NODE } from "./scripts/nodes.js";
import { REFRESH_SESSIONS, REGISTER_SESSION, UNREGISTER_SESSION } from "./scripts/sessions.js";

export async function registerSession(
  db: Db,
  s: SessionRecord,
  expiresAt: number,
  events: readonly EventDraft[],
): Promise<void> {
  await db.run(REGISTER_SESSION, {
    id: s.sessionId,
    record: JSON.stringify(s),
    expires: String(expiresAt),
    events: eventArgs(events),
  });
}

export async function unregisterSession(
  db: Db,
  sessionId: string,
  events: readonly EventDraft[],
): Promise<void> {
  await db.run(UNREGISTER_SESSION, { id: sessionId, events: eventArgs(events) });
}

export async function refreshSessions(
  db: Db,
  sessionIds: readonly string[],
  expiresAt: number,
): Promise<void> {
  if (sessionIds.length === 0) return;
  await db.run(REFRESH_SESSIONS, { ids: sessionIds, expires: String(expiresAt) });
}

/** The records of a registry unexpired at `now`. */
async function live(
  db: Db,
  registry: "sessions" | "nodes",
  now: number,
): Promise<[string, number][]> {
  const expiry = db.keys.global(registry === "nodes" ? "node-expiry" : "session-expiry");
  const flat = await db.call(() =>
    db.redis.zrangebyscore(expiry, `(${String(now)}`, "+inf", "WITHSCORES"),
  );
  const out: [string, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] ?? "", Number(flat[i + 1])]);
  return out;
}

export async function servingSessions(
  db: Db,
  handlers: readonly string[],
  now: number,
  exceptNode: string,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const ids = (await live(db, "sessions", now)).map(([id]) => id);
  if (ids.length === 0 || handlers.length === 0) return counts;
  const wanted = new Set(handlers);
  const records = await db.call(() => db.redis.hmget(db.keys.global("sessions"), ...ids));
  for (const text of records) {
    if (text === null) continue;
    const s = JSON.parse(text) as SessionRecord;
    if (s.nodeId === exceptNode) continue;
    for (const h of new Set(s.handlers)) if (wanted.has(h)) counts.set(h, (counts.get(h) ?? 0) + 1);
  }
  return counts;
}

export async function deleteExpired(
  db: Db,
  registry: "sessions" | "nodes",
  before: number,
): Promise<number> {
  return Number(await db.run(DELETE_EXPIRED, { registry, before: String(before) }));
}

export async function recordNode(db: Db, node: NodeRecord, expiresAt: number): Promise<void> {
  await db.run(RECORD_NODE, {
    id: node.nodeId,
    record: JSON.stringify(node),
    expires: String(expiresAt),
  });
}

export async function removeNode(db: Db, nodeId: string): Promise<void> {
  await db.run(REMOVE_NODE, { id: nodeId });
}

export async function listNodes(db: Db, now: number): Promise<StoredNode[]> {
  const found = await live(db, "nodes", now);
  if (found.length === 0) return [];
  const records = await db.call(() =>
    db.redis.hmget(db.keys.global("nodes"), ...found.map(([id]) => id)),
  );
  const out: StoredNode[] = [];
  found.forEach(([, expiresAt], i) => {
    const text = records[i];
    if (typeof text === "string") out.push({ ...(JSON.parse(text) as NodeRecord), expiresAt });
  });
  return out.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
}
