/**
 * How a batch of events is stored in its `event_log` row: JSON, with what the events share said
 * once. A batch is what one statement wrote (a lease of a thousand runs, a hundred results), so
 * its events mostly differ only in their job, run and fire time: the type, time, scheduler,
 * handler, node, worker, status and attempt are the same for all. Written as an array of whole
 * events they were ~60 % of the bytes sent to the database at 2,000 runs a second
 * (docs/benchmarks.md), each also escaped on the way.
 *
 *   {"v":2,"common":{…fields every event has with the same value…,"data":{…}},
 *    "events":[{…the rest of event 1…,"data":{…}}, …]}
 *
 * Only primitive values (string, number, boolean, null) are shared; objects (a result, an error)
 * stay with their event. Rows written before this format — a JSON array of whole events — are
 * read as they are.
 */
import type { EventDraft } from "../../../domain/events.js";

/** The version mark of the shared-fields format. */
const SHARED = 2;

type Fields = Record<string, unknown>;

interface SharedBatch {
  readonly v: typeof SHARED;
  readonly common: Fields & { data?: Fields };
  readonly events: (Fields & { data?: Fields })[];
}

function isPrimitive(v: unknown): boolean {
  return v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

function isPlainObject(v: unknown): v is Fields {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The keys whose primitive value is the same in every one of `objects`. */
function sharedKeys(objects: readonly Fields[], skip?: string): Set<string> {
  const first = objects[0];
  const keys = new Set<string>();
  if (first === undefined) return keys;
  for (const [key, value] of Object.entries(first)) {
    if (key === skip || !isPrimitive(value)) continue;
    if (objects.every((o) => Object.hasOwn(o, key) && o[key] === value)) keys.add(key);
  }
  return keys;
}

/** Own fields of `o` outside `shared` (undefined values are left out, as JSON does). */
function rest(o: Fields, shared: ReadonlySet<string>, skip?: string): Fields {
  const out: Fields = {};
  for (const [key, value] of Object.entries(o))
    if (key !== skip && !shared.has(key) && value !== undefined) out[key] = value;
  return out;
}

function pick(o: Fields, keys: ReadonlySet<string>): Fields {
  const out: Fields = {};
  for (const key of keys) out[key] = o[key];
  return out;
}

/** The stored text of a batch of events. */
export function batchText(events: readonly EventDraft[]): string {
  const objects = events as unknown as readonly Fields[];
  if (objects.length < 2 || !objects.every((e) => isPlainObject(e.data)))
    return JSON.stringify(events);
  const datas = objects.map((e) => e.data as Fields);
  const top = sharedKeys(objects, "data");
  const inData = sharedKeys(datas);
  const common: SharedBatch["common"] = pick(objects[0] ?? {}, top);
  if (inData.size > 0) common.data = pick(datas[0] ?? {}, inData);
  const own = objects.map((e, i) => {
    const mine: Fields & { data?: Fields } = rest(e, top, "data");
    const data = rest(datas[i] ?? {}, inData);
    if (Object.keys(data).length > 0) mine.data = data;
    return mine;
  });
  const batch: SharedBatch = { v: SHARED, common, events: own };
  return JSON.stringify(batch);
}

/** The events of a batch from its stored text (either format). */
export function eventsOfText(text: string): EventDraft[] {
  const parsed = JSON.parse(text) as unknown;
  if (Array.isArray(parsed)) return parsed as EventDraft[];
  if (!isPlainObject(parsed) || parsed.v !== SHARED)
    throw new Error("an event_log row holds events in a format this version does not know");
  const { common, events } = parsed as unknown as SharedBatch;
  // Copied key by key: rest and spread of the parsed objects cost four times JSON.parse itself
  // (the keys are EventDraft's and EventData's).
  const commonData = common.data ?? {};
  return events.map((own) => {
    const event: Fields = {};
    for (const key in common) if (key !== "data") event[key] = common[key];
    for (const key in own) if (key !== "data") event[key] = own[key];
    const data: Fields = {};
    for (const key in commonData) data[key] = commonData[key];
    const ownData = own.data;
    if (ownData !== undefined) for (const key in ownData) data[key] = ownData[key];
    event.data = data;
    return event as unknown as EventDraft;
  });
}

/**
 * About how many bytes each of a row's `count` events takes once read, as the buffer of recent
 * events counts them (buffer.ts bounds its memory by it): the row's share, plus, in the shared
 * format, the shared fields each event gets back.
 */
export function bytesPerEvent(text: string, count: number): number {
  const n = Math.max(1, count);
  const shared = text.startsWith("{") ? text.indexOf(',"events":[') : -1;
  return Math.ceil((text.length + Math.max(0, shared) * (n - 1)) / n);
}
